/**
 * Open streams per API key, across the cluster. Each node owns one field (its node id) in the key's
 * hash and always writes its own *absolute* count (the node's `ConnectionCounts` stays the truth
 * for its own streams), so a lost update, a Redis restart or a retried command heals at the next
 * heartbeat instead of drifting. Admission is one Lua script, atomic in Redis: it sums the fields
 * of live nodes (a field whose node's heartbeat key is gone belongs to a dead node: it is deleted,
 * which is how a `kill -9`ed node's streams stop counting once its lease expires), and sets this
 * node's field only if the total stays within the limit.
 */
import type { ChainableCommander } from "ioredis";
import { clusterKeys, secretDigest } from "./cluster-keys.js";
import type { RedisLink } from "./redis-link.js";

/** KEYS[1]: the key's hash. ARGV: node id, this node's count with the new stream, limit, node-key prefix, TTL ms. */
const ADMIT_SCRIPT = `
local fields = redis.call('HGETALL', KEYS[1])
local others = 0
for i = 1, #fields, 2 do
  local node = fields[i]
  if node ~= ARGV[1] then
    if redis.call('EXISTS', ARGV[4] .. node) == 1 then
      others = others + tonumber(fields[i + 1])
    else
      redis.call('HDEL', KEYS[1], node)
    end
  end
end
if others + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return others end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return -1
`;

/** Cluster-wide: admitted, refused (with the streams the key holds on other nodes), or Redis away. */
export type KeyAdmission = { readonly ok: true } | { readonly ok: false; readonly elsewhere: number } | undefined;

export class KeyStreams {
  readonly #link: RedisLink;
  readonly #nodeId: string;
  readonly #ttlMs: number;
  /** Keys whose field this node wrote and may need to clear (by digest). */
  readonly #written = new Set<string>();

  constructor(link: RedisLink, nodeId: string, ttlMs: number) {
    this.#link = link;
    this.#nodeId = nodeId;
    this.#ttlMs = ttlMs;
  }

  /** May `key` hold `localCount` streams here (the new one included) within `limit` across the cluster? */
  async admit(key: string, localCount: number, limit: number): Promise<KeyAdmission> {
    const keyDigest = secretDigest(key);
    this.#written.add(keyDigest);
    const others = await this.#link.attempt("admit", (client) =>
      client.eval(
        ADMIT_SCRIPT,
        1,
        clusterKeys.keyStreams(keyDigest),
        this.#nodeId,
        localCount,
        limit,
        clusterKeys.node(""),
        this.#ttlMs,
      ),
    );
    if (others === undefined) return undefined;
    return Number(others) < 0 ? { ok: true } : { ok: false, elsewhere: Number(others) };
  }

  /** Writes this node's count of `key` (after a stream closed, or a refused one gave its place back). */
  async set(key: string, localCount: number): Promise<void> {
    await this.#link.attempt("release", (client) => this.#write(client.multi(), secretDigest(key), localCount).exec());
  }

  /** Rewrites every count this node holds (the heartbeat); `counts` are this node's, by API key. */
  writeAll(multi: ChainableCommander, counts: ReadonlyMap<string, number>): void {
    const current = new Map<string, number>();
    for (const [key, count] of counts) current.set(secretDigest(key), count);
    for (const keyDigest of this.#written) if (!current.has(keyDigest)) current.set(keyDigest, 0);
    for (const [keyDigest, count] of current) this.#write(multi, keyDigest, count);
  }

  #write(multi: ChainableCommander, keyDigest: string, count: number) {
    const hash = clusterKeys.keyStreams(keyDigest);
    if (count > 0) {
      this.#written.add(keyDigest);
      return multi.hset(hash, this.#nodeId, count).pexpire(hash, this.#ttlMs);
    }
    this.#written.delete(keyDigest);
    return multi.hdel(hash, this.#nodeId);
  }
}
