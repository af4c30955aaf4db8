/**
 * The node's heartbeat: every third of its lease it writes its key (load: active streams, capacity
 * and whether it refuses new streams) with the lease as TTL and rewrites its per-key stream counts,
 * in one MULTI; then it refreshes its sessions' records (and learns which of its sessions another
 * node took over: they end here) and reads the cluster view (every node that heartbeats and its
 * load) for `/metrics`. A node that stops (crash, `kill -9`, lost network) disappears when its lease
 * runs out, and with it its per-key counts (key-streams.ts). After a Redis restart the next beat
 * writes everything back. A draining node (node-drain.ts) says so in its hash (`draining` = 1),
 * written at once when the drain starts.
 */
import { clusterKeys } from "./cluster-keys.js";
import type { KeyStreams } from "./key-streams.js";
import type { RedisLink } from "./redis-link.js";
import type { SessionRecords } from "./session-records.js";

/** What a node reports of itself. */
export interface NodeLoad {
  readonly activeStreams: number;
  /** Streams it may hold (Infinity: no limit). */
  readonly capacity: number;
  /** It refuses new streams now (full by count or by load, or its engine not loaded): `/readyz` 503. */
  readonly refusing: boolean;
}

/** A node as the cluster view shows it: its load, and whether it drains. */
export interface NodeView extends NodeLoad {
  readonly draining: boolean;
}

/** What the heartbeat reads from the node each beat. */
export interface NodeState {
  load(): NodeLoad;
  /** Open streams by API key. */
  streamsPerKey(): ReadonlyMap<string, number>;
  /** Resume tokens of the sessions live here. */
  liveSessions(): readonly string[];
  /** Another node took these sessions (by resume token) over: their copies here must end. */
  sessionsMoved(resumeTokens: readonly string[]): void;
}

export class NodeHeartbeat {
  readonly #link: RedisLink;
  readonly #nodeId: string;
  readonly #leaseMs: number;
  readonly #state: NodeState;
  readonly #keyStreams: KeyStreams;
  readonly #records: SessionRecords;
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #view: ReadonlyMap<string, NodeView> = new Map();
  #draining = false;

  constructor(
    link: RedisLink,
    nodeId: string,
    leaseMs: number,
    state: NodeState,
    parts: { keyStreams: KeyStreams; records: SessionRecords },
  ) {
    this.#link = link;
    this.#nodeId = nodeId;
    this.#leaseMs = leaseMs;
    this.#state = state;
    this.#keyStreams = parts.keyStreams;
    this.#records = parts.records;
  }

  /** The nodes seen at the last beat (this one included once it beat), by id; none while Redis is away. */
  get view(): ReadonlyMap<string, NodeView> {
    return this.#link.up ? this.#view : new Map();
  }

  /** The node drains: say so now (and at every beat after). */
  async markDraining(): Promise<void> {
    this.#draining = true;
    await this.beat();
  }

  start(): void {
    const beat = () => {
      void this.beat();
    };
    // At once when Redis (re)connects: after an outage the node's counts are back before its lease would matter.
    this.#link.onReady(beat);
    if (this.#link.up) beat();
    this.#timer = setInterval(beat, Math.max(100, Math.floor(this.#leaseMs / 3)));
    this.#timer.unref();
  }

  async beat(): Promise<void> {
    const { activeStreams, capacity, refusing } = this.#state.load();
    const nodeKey = clusterKeys.node(this.#nodeId);
    const wrote = await this.#link.attempt("heartbeat", (client) => {
      const multi = client
        .multi()
        .hset(nodeKey, {
          active: activeStreams,
          capacity: Number.isFinite(capacity) ? capacity : "inf",
          refusing: refusing ? 1 : 0,
          started_at: this.#startedAt,
          updated_at: Date.now(),
          draining: this.#draining ? 1 : 0,
        })
        .pexpire(nodeKey, this.#leaseMs)
        .sadd(clusterKeys.nodes, this.#nodeId);
      this.#keyStreams.writeAll(multi, this.#state.streamsPerKey());
      return multi.exec();
    });
    if (wrote === undefined) {
      this.#view = new Map();
      return;
    }
    const moved = await this.#records.refresh(this.#state.liveSessions());
    if (moved.length > 0) this.#state.sessionsMoved(moved);
    const view = await this.#link.attempt("heartbeat", (client) => readView(client));
    this.#view = view ?? new Map();
  }

  /** Stops beating and removes the node's key at once (a clean shutdown need not wait for the lease). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#link.attempt("heartbeat", (client) =>
      client.multi().del(clusterKeys.node(this.#nodeId)).srem(clusterKeys.nodes, this.#nodeId).exec(),
    );
  }
}

async function readView(client: RedisLink["client"]): Promise<Map<string, NodeView>> {
  const ids = await client.smembers(clusterKeys.nodes);
  const pipeline = client.pipeline();
  for (const id of ids) pipeline.hgetall(clusterKeys.node(id));
  const replies = (await pipeline.exec()) ?? [];
  const view = new Map<string, NodeView>();
  const dead: string[] = [];
  ids.forEach((id, index) => {
    const fields = replies[index]?.[1] as Record<string, string> | undefined;
    if (fields?.active === undefined) {
      dead.push(id);
      return;
    }
    const capacity = fields.capacity === "inf" ? Number.POSITIVE_INFINITY : Number(fields.capacity);
    view.set(id, {
      activeStreams: Number(fields.active),
      capacity,
      refusing: fields.refusing === "1",
      draining: fields.draining === "1",
    });
  });
  if (dead.length > 0) await client.srem(clusterKeys.nodes, ...dead);
  return view;
}
