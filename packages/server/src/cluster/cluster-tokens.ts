/**
 * Stream tokens across the cluster. The node that mints a token (stream-tokens.ts keeps it in
 * memory) also publishes it here, by digest, with the digest of its API key and its expiry, so any
 * node can let its stream in. Single use holds cluster-wide: a node lets a token's first stream in
 * only after an atomic claim (one Lua script: unused and unexpired → used) succeeds. A used token
 * is kept for `usedTtlMs` more, with the session its stream runs in: another node lets it in to
 * continue that session (resume on any node, docs/design/cluster.md).
 */
import { clusterKeys, secretDigest } from "./cluster-keys.js";
import type { RedisLink } from "./redis-link.js";

/** KEYS[1]: the token's hash. ARGV: now (ms), node id, used-token TTL ms. 1: claimed; 0: used or expired; -1: unknown. */
const CLAIM_SCRIPT = `
local token = redis.call('HMGET', KEYS[1], 'used', 'expires_at')
if not token[1] then return -1 end
if token[1] ~= '0' or tonumber(token[2]) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'used', '1', 'node', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/** KEYS[1]: the token's hash. ARGV: the session's resume token digest. Names the session its stream runs in, if published. */
const BIND_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'session', ARGV[1])
return 1
`;

/** A published token as another node reads it. */
export interface PublishedToken {
  readonly keyDigest: string;
  readonly expiresAt: number;
  readonly used: boolean;
  /** Digest of the resume token of the session its stream runs in, once it has one. */
  readonly sessionDigest: string | undefined;
}

export class ClusterTokens {
  readonly #link: RedisLink;
  readonly #nodeId: string;
  readonly #usedTtlMs: number;

  constructor(link: RedisLink, nodeId: string, usedTtlMs: number) {
    this.#link = link;
    this.#nodeId = nodeId;
    this.#usedTtlMs = usedTtlMs;
  }

  /** Publishes a token just minted here; false when Redis is away (the token then works on this node only). */
  async publish(token: string, key: string, expiresAt: number): Promise<boolean> {
    const hash = clusterKeys.token(secretDigest(token));
    const done = await this.#link.attempt("token_publish", (client) =>
      client
        .multi()
        .hset(hash, { key: secretDigest(key), expires_at: expiresAt, used: 0, node: this.#nodeId })
        .pexpireat(hash, expiresAt)
        .exec(),
    );
    return done !== undefined;
  }

  /** The token as published (null: not published, or gone), or undefined when Redis is away. */
  async lookup(token: string): Promise<PublishedToken | null | undefined> {
    const fields = await this.#link.attempt("token_claim", (client) =>
      client.hgetall(clusterKeys.token(secretDigest(token))),
    );
    if (fields === undefined) return undefined;
    if (fields.key === undefined || fields.expires_at === undefined) return null;
    return {
      keyDigest: fields.key,
      expiresAt: Number(fields.expires_at),
      used: fields.used !== "0",
      sessionDigest: fields.session,
    };
  }

  /**
   * The token's stream runs in the session `resumeToken` names: recorded with the token, so that
   * another node lets the used token in to continue that session (resume on any node).
   */
  async bindSession(clusterId: string, resumeToken: string): Promise<void> {
    // Part of the session's record keeping: counted with it when Redis is away.
    await this.#link.attempt("session_record", (client) =>
      client.eval(BIND_SCRIPT, 1, clusterKeys.token(clusterId), secretDigest(resumeToken)),
    );
  }

  /**
   * Marks the token used, atomically: "claimed" for the one stream that may use it, "taken" for every
   * other; "unpublished" for a token Redis never saw (minted while it was away); undefined when Redis is away.
   */
  async claim(token: string, now = Date.now()): Promise<"claimed" | "taken" | "unpublished" | undefined> {
    const claimed = await this.#link.attempt("token_claim", (client) =>
      client.eval(CLAIM_SCRIPT, 1, clusterKeys.token(secretDigest(token)), now, this.#nodeId, this.#usedTtlMs),
    );
    if (claimed === undefined) return undefined;
    return Number(claimed) === 1 ? "claimed" : Number(claimed) === 0 ? "taken" : "unpublished";
  }
}
