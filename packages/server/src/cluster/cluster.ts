/**
 * A node's membership in a cluster (`earshot serve --redis`): the Redis link, the heartbeat and
 * cluster view, per-key stream counts, stream tokens and session records, composed; and their
 * metrics. Without `cluster` options the server never builds one and runs alone, as always.
 *
 * When Redis is away every cluster decision falls back to the node's own (see redis-link.ts and
 * docs/operations.md "Running several nodes"): streams already running never wait on Redis.
 */
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { secretDigest } from "./cluster-keys.js";
import type { OtherNodes } from "./cluster-room.js";
import { ClusterTokens } from "./cluster-tokens.js";
import { type KeyAdmission, KeyStreams } from "./key-streams.js";
import { NodeHeartbeat, type NodeState, type NodeView } from "./node-heartbeat.js";
import { CLUSTER_OPERATIONS, RedisLink } from "./redis-link.js";
import { type SessionProgress, type SessionRecord, SessionRecords } from "./session-records.js";

/** How a resume of a session another node held ended (`earshot_cluster_resumes_total{outcome}`). */
export const CLUSTER_RESUME_OUTCOMES = [
  "resumed",
  "not_found",
  "other_key",
  "unresumable",
  "over_capacity",
  "lost_race",
] as const;
export type ClusterResumeOutcome = (typeof CLUSTER_RESUME_OUTCOMES)[number];

export const DEFAULT_NODE_LEASE_MS = 15_000;
/** How long a used stream token stays in Redis: its stream may resume on any node with it meanwhile. */
const USED_TOKEN_TTL_MS = 3_600_000;

export interface ClusterOptions {
  /** `redis://host:port/db` (ioredis URL syntax). */
  readonly redisUrl: string;
  /** This node's id: in every log line, on `/metrics`, and in Redis. */
  readonly nodeId: string;
  /** How long the node counts without a heartbeat (default 15 s): a dead node's streams stop counting after it. */
  readonly leaseMs?: number;
}

export class Cluster {
  readonly nodeId: string;
  readonly #link: RedisLink;
  readonly #heartbeat: NodeHeartbeat;
  readonly #keyStreams: KeyStreams;
  readonly #tokens: ClusterTokens;
  readonly #records: SessionRecords;
  readonly #keysByDigest: ReadonlyMap<string, string>;
  readonly #state: NodeState;
  readonly #resumes = new Map<ClusterResumeOutcome, number>(CLUSTER_RESUME_OUTCOMES.map((outcome) => [outcome, 0]));

  /** `apiKeys`: the node's keys (the same on every node), to know which one a token from Redis acts for. */
  constructor(
    options: ClusterOptions,
    log: Logger,
    state: NodeState,
    apiKeys: readonly string[],
    resumeWindowMs: number,
  ) {
    const leaseMs = options.leaseMs ?? DEFAULT_NODE_LEASE_MS;
    this.nodeId = options.nodeId;
    this.#state = state;
    this.#keysByDigest = new Map(apiKeys.map((key) => [secretDigest(key), key]));
    this.#link = new RedisLink(options.redisUrl, log);
    this.#keyStreams = new KeyStreams(this.#link, this.nodeId, 3 * leaseMs);
    this.#tokens = new ClusterTokens(this.#link, this.nodeId, USED_TOKEN_TTL_MS);
    this.#records = new SessionRecords(this.#link, this.nodeId, resumeWindowMs + leaseMs);
    this.#heartbeat = new NodeHeartbeat(this.#link, this.nodeId, leaseMs, state, {
      keyStreams: this.#keyStreams,
      records: this.#records,
    });
  }

  get tokens(): ClusterTokens {
    return this.#tokens;
  }

  /** The API key with this digest, if this node has it. */
  keyWithDigest(keyDigest: string): string | undefined {
    return this.#keysByDigest.get(keyDigest);
  }

  start(): void {
    this.#heartbeat.start();
  }

  /**
   * The other nodes of the cluster view and how many had room (took new streams, below their
   * capacity) at their last heartbeat; undefined without a view (Redis away, or before the first beat).
   */
  otherNodes(): OtherNodes | undefined {
    const view = this.#heartbeat.view;
    if (view.size === 0) return undefined;
    let nodes = 0;
    let withRoom = 0;
    for (const [id, load] of view) {
      if (id === this.nodeId) continue;
      nodes += 1;
      if (!load.refusing && load.activeStreams < load.capacity) withRoom += 1;
    }
    return { nodes, withRoom };
  }

  /** Cluster-wide per-key admission of one more stream (`localCount` includes it); undefined: Redis away. */
  admitStream(key: string, localCount: number, limit: number): Promise<KeyAdmission> {
    return this.#keyStreams.admit(key, localCount, limit);
  }

  /**
   * This node now holds `localCount` streams of `key` (one closed or was refused, a two-channel
   * stream took its second, or a resume of a session held elsewhere came in past the limit):
   * written at once, not checked against the limit.
   */
  keyStreamsChanged(key: string, localCount: number): void {
    void this.#keyStreams.set(key, localCount);
  }

  /** Writes a session's progress to its record (fire-and-forget); a session another node took over ends here. */
  sessionProgress(progress: SessionProgress): void {
    void this.#records.write(progress).then((written) => {
      if (written === "moved") this.#state.sessionsMoved([progress.resumeToken]);
    });
  }

  /** The record of the session `resumeToken` names (null: none; undefined: Redis away). */
  sessionRecord(resumeToken: string): Promise<SessionRecord | null | undefined> {
    return this.#records.read(resumeToken);
  }

  /** Takes the session's record over from `fromNode`, atomically: false when another node was first. */
  async claimSession(resumeToken: string, fromNode: string): Promise<boolean> {
    return (await this.#records.takeOver(resumeToken, fromNode)) === true;
  }

  /** Counts how a resume of a session held elsewhere ended. */
  resumeOutcome(outcome: ClusterResumeOutcome): void {
    this.#resumes.set(outcome, (this.#resumes.get(outcome) ?? 0) + 1);
  }

  /** The node drains (node-drain.ts): its hash says so at once. */
  draining(): void {
    void this.#heartbeat.markDraining();
  }

  /** `earshot_node_info`, the cluster view and the Redis link's health, read when scraped. */
  defineMetrics(registry: Registry): void {
    const nodeId = this.nodeId;
    const heartbeat = this.#heartbeat;
    const link = this.#link;
    new Gauge({
      name: "earshot_node_info",
      help: "This node's id (always 1), for joining its metrics across a cluster.",
      labelNames: ["node"],
      registers: [registry],
      collect() {
        this.set({ node: nodeId }, 1);
      },
    });
    new Gauge({
      name: "earshot_cluster_redis_up",
      help: "1 while the node's Redis connection is ready; 0 while it decides node-locally.",
      registers: [registry],
      collect() {
        this.set(link.up ? 1 : 0);
      },
    });
    new Gauge({
      name: "earshot_cluster_nodes",
      help: "Nodes with a live heartbeat, as this node last read them from Redis (0 while Redis is away).",
      registers: [registry],
      collect() {
        this.set(heartbeat.view.size);
      },
    });
    const perNode = (name: string, help: string, read: (load: NodeView) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["node"],
        registers: [registry],
        collect() {
          this.reset();
          for (const [node, load] of heartbeat.view) this.set({ node }, read(load));
        },
      });
    perNode(
      "earshot_cluster_node_active_streams",
      "Active streams of each node, from its last heartbeat.",
      (load) => load.activeStreams,
    );
    perNode(
      "earshot_cluster_node_capacity",
      "Streams each node may hold (+Inf: no limit), from its last heartbeat.",
      (load) => load.capacity,
    );
    perNode(
      "earshot_cluster_node_draining",
      "1 for a node that drains (takes no new streams), from its last heartbeat.",
      (load) => (load.draining ? 1 : 0),
    );
    const resumes = this.#resumes;
    new Counter({
      name: "earshot_cluster_resumes_total",
      help: "resume requests for sessions this node did not hold, looked up in Redis, by outcome.",
      labelNames: ["outcome"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [outcome, count] of resumes) this.inc({ outcome }, count);
      },
    });
    new Counter({
      name: "earshot_cluster_fallbacks_total",
      help: "Cluster operations decided node-locally because Redis did not answer, by operation.",
      labelNames: ["operation"],
      registers: [registry],
      // Totals are kept by the link, as plain numbers; every operation is exported from 0.
      collect() {
        this.reset();
        for (const operation of CLUSTER_OPERATIONS) this.inc({ operation }, link.fallbacks(operation));
      },
    });
  }

  async close(): Promise<void> {
    await this.#heartbeat.stop();
    await this.#link.close();
  }
}
