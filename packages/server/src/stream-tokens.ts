/**
 * Stream tokens: short-lived credentials that a backend (or the demo page) mints with an API key
 * (`POST /v1/auth/token`) and hands to a browser, so the key itself never reaches the page. A token
 * authenticates as its key (the key's stream limits apply) and opens exactly one stream; that
 * stream's reconnects (`?resume_token=` naming its session, as the SDK sends) keep getting in with
 * it for as long as the session lives, even after the token's TTL (the TTL bounds only first use).
 *
 * Why a bounded in-memory table rather than stateless signed (HMAC) tokens: "one stream only" needs
 * server state anyway (which tokens were used, and which session each one opened, so that the
 * stream's resumes still get in), so a signature would only add a secret to manage. Tokens then die
 * with the process, as the sessions they open do. Tokens are 144 random bits, kept by SHA-256
 * digest: a lookup's timing says nothing about a guessed token, and a heap dump holds no usable one.
 *
 * Bounds: at most `maxUnusedPerKey` unused, unexpired tokens per key (`too_many_tokens` beyond);
 * used tokens live only while their connections or their session do. Dead entries are pruned on
 * every mint and every released connection.
 */
import { createHash, randomBytes } from "node:crypto";
import { STREAM_TOKEN_PREFIX } from "@earshot/protocol";
import { secretDigest } from "./cluster/cluster-keys.js";

export const DEFAULT_MAX_TOKENS_PER_KEY = 1000;

/** A minted token, as the table tracks it; held by the connections it let in. */
export interface StreamToken {
  readonly key: string;
  readonly expiresAt: number;
  /** Let in its first connection: it can no longer open a new stream. */
  used: boolean;
  /** Resume token of the session its stream runs in (undefined until that session exists). */
  session: string | undefined;
  /** Open connections let in with it. */
  connections: number;
  /** Its name in the cluster's records (`earshot:token:{clusterId}`, cluster-keys.ts). */
  readonly clusterId: string;
  /**
   * Used on another node, where its stream's session lived: adopted here for the resume that
   * continues that session on this node (resume on any node), before the session is held here.
   */
  readonly resumesMovedSession?: true;
}

export type TokenCheck =
  | { readonly ok: true; readonly token: StreamToken }
  | { readonly ok: false; readonly why: string };

export type MintResult =
  | { readonly ok: true; readonly token: string; readonly expiresAt: number }
  | { readonly ok: false; readonly retryAfterSeconds: number };

export interface StreamTokensOptions {
  readonly maxUnusedPerKey: number;
  /** Whether a session (by resume token) is still held by the server. */
  readonly isLive: (resumeToken: string) => boolean;
  readonly now?: () => number;
}

const digest = (token: string): string => createHash("sha256").update(token).digest("base64url");

/** A token of `key` not used yet, known here by its digest and in the cluster by `secretDigest`. */
const unusedEntry = (token: string, key: string, expiresAt: number): StreamToken => ({
  key,
  expiresAt,
  used: false,
  session: undefined,
  connections: 0,
  clusterId: secretDigest(token),
});

export class StreamTokens {
  readonly #entries = new Map<string, StreamToken>();
  readonly #options: StreamTokensOptions;
  readonly #now: () => number;

  constructor(options: StreamTokensOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Tokens held (unused ones and those of live streams). */
  get size(): number {
    return this.#entries.size;
  }

  mint(key: string, ttlSeconds: number): MintResult {
    const now = this.#now();
    this.#prune(now);
    const unused = [...this.#entries.values()].filter((t) => t.key === key && !t.used);
    if (unused.length >= this.#options.maxUnusedPerKey) {
      const oldest = Math.min(...unused.map((t) => t.expiresAt));
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest - now) / 1000)) };
    }
    const token = `${STREAM_TOKEN_PREFIX}${randomBytes(18).toString("base64url")}`;
    const expiresAt = now + ttlSeconds * 1000;
    this.#entries.set(digest(token), unusedEntry(token, key, expiresAt));
    return { ok: true, token, expiresAt };
  }

  /**
   * Takes in a token minted on another node of the cluster (found in Redis), unused, so that
   * `check` and `admit` treat it as one minted here. Its single use is claimed in Redis.
   */
  adopt(token: string, key: string, expiresAt: number): void {
    const id = digest(token);
    if (!this.#entries.has(id)) this.#entries.set(id, unusedEntry(token, key, expiresAt));
  }

  /**
   * Takes in a token used on another node for the session `resumeToken` names (its record there
   * says so), so that the resume that continues that session here gets in with it. It resumes only
   * that session, as on the node where it was used.
   */
  adoptForResume(token: string, key: string, expiresAt: number, resumeToken: string): void {
    const id = digest(token);
    if (this.#entries.has(id)) return;
    this.#entries.set(id, {
      key,
      expiresAt,
      used: true,
      session: resumeToken,
      connections: 0,
      clusterId: secretDigest(token),
      resumesMovedSession: true,
    });
  }

  /** Whether `token` was minted here (or adopted). */
  knows(token: string): boolean {
    return this.#entries.has(digest(token));
  }

  /**
   * May `token` open a connection now? Unused and unexpired: yes (a new stream). Used: only to
   * resume its own stream's live session, named by `resumeToken` (the upgrade's `?resume_token=`).
   * No side effect: `admit` once every other check has passed, so a refused upgrade burns nothing.
   */
  check(token: string, resumeToken: string | null): TokenCheck {
    const entry = this.#entries.get(digest(token));
    if (entry === undefined)
      return { ok: false, why: "Unknown stream token (never minted here, or the server restarted)." };
    if (!entry.used) {
      if (this.#now() < entry.expiresAt) return { ok: true, token: entry };
      return { ok: false, why: "The stream token expired before it was used; mint a new one." };
    }
    const live = entry.session !== undefined && (this.#options.isLive(entry.session) || entry.resumesMovedSession);
    const resuming = resumeToken !== null && entry.session === resumeToken && live;
    if (resuming) return { ok: true, token: entry };
    return {
      ok: false,
      why: "The stream token was already used; it only resumes its own stream's session (?resume_token=).",
    };
  }

  admit(token: StreamToken): void {
    token.used = true;
    token.connections += 1;
  }

  release(token: StreamToken): void {
    token.connections -= 1;
    this.#prune(this.#now());
  }

  /**
   * What gives back a connection let in with `token` (undefined: with an API key) and counted by
   * `releaseCount`: both, once, however often it is called (a close and a failed handshake may both).
   */
  connectionRelease(token: StreamToken | undefined, releaseCount: () => void): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (token) this.release(token);
      releaseCount();
    };
  }

  /** The token's stream now runs in this session (its first, or a new one after a lost session). */
  bind(token: StreamToken, resumeToken: string): void {
    token.session = resumeToken;
  }

  #prune(now: number): void {
    for (const [id, t] of this.#entries) {
      const dead = t.used
        ? t.connections === 0 && (t.session === undefined || !this.#options.isLive(t.session))
        : now >= t.expiresAt;
      if (dead) this.#entries.delete(id);
    }
  }
}
