/**
 * The node's connection to Redis (ioredis), and what happens when Redis is away: commands fail at
 * once (no offline queue, a short command timeout) and the caller falls back to node-local state.
 * Each fallback is counted by operation; the first failure after a healthy spell logs the coded
 * line `cluster_redis_unavailable` (and `cluster_redis_restored` when it answers again), so an
 * outage is one warning in the logs, not one per stream. ioredis reconnects by itself.
 */
import { Redis } from "ioredis";
import type { Logger } from "pino";

/** How long one Redis command may take before the node decides alone. */
const COMMAND_TIMEOUT_MS = 500;
/** Reconnect attempts back off up to this. */
const MAX_RECONNECT_DELAY_MS = 1000;

export const CLUSTER_OPERATIONS = [
  "heartbeat",
  "admit",
  "release",
  "token_publish",
  "token_claim",
  "session_record",
  "session_takeover",
] as const;
export type ClusterOperation = (typeof CLUSTER_OPERATIONS)[number];

export class RedisLink {
  readonly client: Redis;
  readonly #log: Logger;
  readonly #fallbacks = new Map<ClusterOperation, number>(CLUSTER_OPERATIONS.map((op) => [op, 0]));
  #up = false;
  #warned = false;

  constructor(url: string, log: Logger) {
    this.#log = log;
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
    });
    this.client.on("ready", () => {
      this.#up = true;
      if (this.#warned) this.#log.warn({ code: "cluster_redis_restored" }, "Redis answers again: cluster state shared");
      this.#warned = false;
    });
    this.client.on("close", () => {
      this.#up = false;
    });
    // ioredis reports connection errors here; without a listener they would be unhandled.
    this.client.on("error", () => {});
  }

  /** Calls `listener` each time the connection becomes ready (first connect, and after every outage). */
  onReady(listener: () => void): void {
    this.client.on("ready", listener);
  }

  /** Whether the connection is ready (what `earshot_cluster_redis_up` shows). */
  get up(): boolean {
    return this.#up;
  }

  /** Fallbacks to node-local decisions so far, by operation. */
  fallbacks(operation: ClusterOperation): number {
    return this.#fallbacks.get(operation) ?? 0;
  }

  /** Runs `command` against Redis; on failure counts a fallback, logs once, and resolves undefined. */
  async attempt<T>(operation: ClusterOperation, command: (client: Redis) => Promise<T>): Promise<T | undefined> {
    try {
      return await command(this.client);
    } catch (error) {
      this.#fallbacks.set(operation, this.fallbacks(operation) + 1);
      if (!this.#warned) {
        this.#warned = true;
        this.#log.warn(
          { code: "cluster_redis_unavailable", operation, err: error },
          "Redis unavailable: deciding node-locally (per-key counts and stream tokens of this node only)",
        );
      }
      return undefined;
    }
  }

  /** Sends what is queued (the last counts of a shutdown), then closes; at once when Redis is away. */
  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
