/**
 * Session metadata in Redis, written as a session progresses: what a node needs to take a session
 * over (the resume-on-any-node slice, docs/design/cluster.md): the API key's digest, the config the
 * client sent, the node, the segment counter, the stream position where the last final ended, and
 * the resume token's digest (the record's name). Written when the session gets its config and at
 * each final; its TTL (the resume window plus the node lease) is refreshed by the node's heartbeat
 * while the session lives here, so a record outlives its node by about one resume window.
 */
import type { ChainableCommander } from "ioredis";
import { clusterKeys, secretDigest } from "./cluster-keys.js";
import type { RedisLink } from "./redis-link.js";

/** A session's progress, as the session reports it. */
export interface SessionProgress {
  readonly resumeToken: string;
  readonly key: string;
  /** The config the client sent (validated), as JSON. */
  readonly config: unknown;
  /** The last final's segment id (firstSegmentId − 1 before any). */
  readonly lastSegmentId: number;
  /** Where the last final ended, in ms from the start of the stream. */
  readonly lastFinalEndMs: number;
}

export class SessionRecords {
  readonly #link: RedisLink;
  readonly #nodeId: string;
  readonly #ttlMs: number;

  constructor(link: RedisLink, nodeId: string, ttlMs: number) {
    this.#link = link;
    this.#nodeId = nodeId;
    this.#ttlMs = ttlMs;
  }

  async write(progress: SessionProgress): Promise<void> {
    const tokenDigest = secretDigest(progress.resumeToken);
    const hash = clusterKeys.session(tokenDigest);
    await this.#link.attempt("session_record", (client) =>
      client
        .multi()
        .hset(hash, {
          key: secretDigest(progress.key),
          node: this.#nodeId,
          config: JSON.stringify(progress.config),
          last_segment_id: progress.lastSegmentId,
          last_final_end_ms: progress.lastFinalEndMs,
          resume_token: tokenDigest,
          updated_at: Date.now(),
        })
        .pexpire(hash, this.#ttlMs)
        .exec(),
    );
  }

  /** Keeps the records of sessions still live here (the heartbeat). */
  refresh(multi: ChainableCommander, resumeTokens: Iterable<string>): void {
    for (const token of resumeTokens) multi.pexpire(clusterKeys.session(secretDigest(token)), this.#ttlMs);
  }
}
