/**
 * Stream tokens (`POST /v1/auth/token`) across a cluster, for every surface that takes them
 * (earshot's own stream endpoint, Deepgram's `Bearer` credential, a Twilio call's `token`
 * parameter): a token minted on another node is looked up in Redis and adopted before it is
 * checked here, and its single use is claimed in Redis once its stream is counted, so exactly one
 * stream in the cluster gets it. Alone, or with Redis away, both decide on this node
 * (cluster-tokens.ts).
 */
import { STREAM_TOKEN_PREFIX } from "@earshot/protocol";
import type { KeyRing } from "./auth.js";
import type { Cluster } from "./cluster/cluster.js";
import { secretDigest } from "./cluster/cluster-keys.js";
import type { StreamToken, StreamTokens } from "./stream-tokens.js";

export class SharedTokens {
  readonly #tokens: StreamTokens;
  readonly #keys: KeyRing;
  readonly #cluster: Cluster | undefined;

  constructor(tokens: StreamTokens, keys: KeyRing, cluster: Cluster | undefined) {
    this.#tokens = tokens;
    this.#keys = keys;
    this.#cluster = cluster;
  }

  /**
   * Before `credential` is checked here: a token published by another node, of a key this node has,
   * is adopted when unused, or when used by the session `resumeToken` (the upgrade's
   * `?resume_token=`) names, to continue that session here.
   */
  async adopt(credential: string | undefined, resumeToken: string | null = null): Promise<void> {
    const cluster = this.#cluster;
    if (!cluster || credential === undefined || !credential.startsWith(STREAM_TOKEN_PREFIX)) return;
    if (this.#keys.accepts(credential) || this.#tokens.knows(credential)) return;
    const published = await cluster.tokens.lookup(credential);
    const key = published ? cluster.keyWithDigest(published.keyDigest) : undefined;
    if (!published || key === undefined) return;
    if (!published.used) this.#tokens.adopt(credential, key, published.expiresAt);
    else if (resumeToken !== null && published.sessionDigest === secretDigest(resumeToken)) {
      this.#tokens.adoptForResume(credential, key, published.expiresAt, resumeToken);
    }
  }

  /**
   * Uses `token` (`credential`) for a new stream, or says it was used meanwhile, by another stream
   * here or on another node: false. Once true, the stream holds the token until it gives it back
   * (`StreamTokens.release`), as one admitted here does.
   */
  async use(credential: string, token: StreamToken): Promise<boolean> {
    if (token.used) return false;
    // Taken here at once: no other stream of this node gets it while Redis answers.
    this.#tokens.admit(token);
    if ((await this.#cluster?.tokens.claim(credential)) !== "taken") return true;
    this.#tokens.release(token);
    return false;
  }
}
