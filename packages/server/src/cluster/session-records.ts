/**
 * Session metadata in Redis, written as a session progresses: what another node needs to take a
 * session over (resume on any node, docs/design/cluster.md): the API key's digest, the session id,
 * the config the client sent, the node, the segment counter, the stream position where the last
 * final ended, the last checkpoint (sessions with `checkpoints` on) and the resume token's digest
 * (the record's name). Written when the session gets its config, at each final and at each
 * checkpoint; its TTL (the resume window plus the node lease) is refreshed by the node's heartbeat
 * while the session lives here, so a record outlives its node by about one resume window.
 *
 * A record names the node that holds the session. Every write is conditional (one Lua script): a
 * node writes only a record that names no node or itself, so a node whose session was taken over
 * never overwrites its new owner; it learns instead that the session moved, at its next write or
 * heartbeat, and ends its copy. A takeover is a compare-and-set of `node`: of two nodes that read
 * the same record and race for it, exactly one wins.
 */
import { clusterKeys, secretDigest } from "./cluster-keys.js";
import type { RedisLink } from "./redis-link.js";

/** KEYS[1]: the record. ARGV: node id, TTL ms, then field/value pairs. 1: written; 0: another node holds it. */
const WRITE_SCRIPT = `
local node = redis.call('HGET', KEYS[1], 'node')
if node and node ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'node', ARGV[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** KEYS: records. ARGV: node id, TTL ms. Renews this node's records; returns the (1-based) indexes of those another node holds. */
const REFRESH_SCRIPT = `
local moved = {}
for i, key in ipairs(KEYS) do
  local node = redis.call('HGET', key, 'node')
  if node == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  elseif node then
    moved[#moved + 1] = i
  end
end
return moved
`;

/** KEYS[1]: the record. ARGV: the node read, this node, TTL ms, now (ms). 1: taken over; 0: it changed hands (or expired) meanwhile. */
const TAKE_OVER_SCRIPT = `
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'updated_at', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/** A checkpoint as a record keeps it (`checkpoint` message fields). */
export interface RecordCheckpoint {
  readonly sample: number;
  readonly state: string;
  readonly last_segment_id: number;
}

/** A session's progress, as the session reports it. */
export interface SessionProgress {
  readonly resumeToken: string;
  readonly sessionId: string;
  readonly key: string;
  /** The config the client sent (validated), as JSON. */
  readonly config: unknown;
  /** The last final's segment id (firstSegmentId − 1 before any). */
  readonly lastSegmentId: number;
  /** Where the last final ended, in ms from the start of the stream. */
  readonly lastFinalEndMs: number;
  /** A checkpoint just sent (or that would have been): written with this progress. */
  readonly checkpoint?: RecordCheckpoint | undefined;
}

/** A record as another node reads it. */
export interface SessionRecord {
  readonly keyDigest: string;
  readonly node: string;
  readonly sessionId: string;
  /** The client's config as it sent it (JSON-parsed, not validated again here). */
  readonly config: unknown;
  readonly lastSegmentId: number;
  readonly lastFinalEndMs: number;
  readonly checkpoint: RecordCheckpoint | undefined;
}

/** What a write found: written, or the record names another node (the session moved). */
export type RecordWrite = "written" | "moved" | undefined;

export class SessionRecords {
  readonly #link: RedisLink;
  readonly #nodeId: string;
  readonly #ttlMs: number;

  constructor(link: RedisLink, nodeId: string, ttlMs: number) {
    this.#link = link;
    this.#nodeId = nodeId;
    this.#ttlMs = ttlMs;
  }

  /** Writes the session's progress, unless another node holds its record ("moved"); undefined: Redis away. */
  async write(progress: SessionProgress): Promise<RecordWrite> {
    const tokenDigest = secretDigest(progress.resumeToken);
    const fields: Record<string, string | number> = {
      key: secretDigest(progress.key),
      session_id: progress.sessionId,
      config: JSON.stringify(progress.config),
      last_segment_id: progress.lastSegmentId,
      last_final_end_ms: progress.lastFinalEndMs,
      resume_token: tokenDigest,
      updated_at: Date.now(),
    };
    if (progress.checkpoint) fields.checkpoint = JSON.stringify(progress.checkpoint);
    const written = await this.#link.attempt("session_record", (client) =>
      client.eval(
        WRITE_SCRIPT,
        1,
        clusterKeys.session(tokenDigest),
        this.#nodeId,
        this.#ttlMs,
        ...Object.entries(fields).flat(),
      ),
    );
    if (written === undefined) return undefined;
    return Number(written) === 1 ? "written" : "moved";
  }

  /** Keeps the records of sessions still live here (the heartbeat); returns those another node took over. */
  async refresh(resumeTokens: readonly string[]): Promise<string[]> {
    if (resumeTokens.length === 0) return [];
    const keys = resumeTokens.map((token) => clusterKeys.session(secretDigest(token)));
    const moved = await this.#link.attempt("session_record", (client) =>
      client.eval(REFRESH_SCRIPT, keys.length, ...keys, this.#nodeId, this.#ttlMs),
    );
    if (!Array.isArray(moved)) return [];
    return moved.flatMap((index) => resumeTokens[Number(index) - 1] ?? []);
  }

  /** The record of the session `resumeToken` names: null when there is none, undefined when Redis is away. */
  async read(resumeToken: string): Promise<SessionRecord | null | undefined> {
    const fields = await this.#link.attempt("session_takeover", (client) =>
      client.hgetall(clusterKeys.session(secretDigest(resumeToken))),
    );
    if (fields === undefined) return undefined;
    return parseRecord(fields);
  }

  /** Takes the record over from `fromNode` (as read), atomically; undefined when Redis is away. */
  async takeOver(resumeToken: string, fromNode: string): Promise<boolean | undefined> {
    const taken = await this.#link.attempt("session_takeover", (client) =>
      client.eval(
        TAKE_OVER_SCRIPT,
        1,
        clusterKeys.session(secretDigest(resumeToken)),
        fromNode,
        this.#nodeId,
        this.#ttlMs,
        Date.now(),
      ),
    );
    return taken === undefined ? undefined : Number(taken) === 1;
  }
}

/** A record's fields, or null when it is missing what a takeover needs (or is not JSON where it must be). */
function parseRecord(fields: Record<string, string>): SessionRecord | null {
  const { key, node, session_id, config, last_segment_id, last_final_end_ms, checkpoint } = fields;
  if (
    key === undefined ||
    node === undefined ||
    session_id === undefined ||
    config === undefined ||
    last_segment_id === undefined ||
    last_final_end_ms === undefined
  )
    return null;
  try {
    return {
      keyDigest: key,
      node,
      sessionId: session_id,
      config: JSON.parse(config) as unknown,
      lastSegmentId: Number(last_segment_id),
      lastFinalEndMs: Number(last_final_end_ms),
      checkpoint: checkpoint === undefined ? undefined : parseCheckpoint(JSON.parse(checkpoint) as unknown),
    };
  } catch {
    return null;
  }
}

function parseCheckpoint(value: unknown): RecordCheckpoint | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { sample, state, last_segment_id } = value as Record<string, unknown>;
  if (typeof sample !== "number" || typeof state !== "string" || typeof last_segment_id !== "number") return undefined;
  return { sample, state, last_segment_id };
}
