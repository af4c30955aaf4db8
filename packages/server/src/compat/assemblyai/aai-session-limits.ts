/**
 * The longest session of each temporary token minted with `max_session_duration_seconds`: kept
 * beside the token (weakly, so it goes when the token table prunes the token) until its stream
 * opens, whose session then ends there with 3008 "Session Expired", as AssemblyAI's does.
 */
import type { StreamToken } from "../../stream-tokens.js";

export class AaiSessionLimits {
  readonly #maxSessionMs = new WeakMap<StreamToken, number>();

  set(token: StreamToken, maxSessionMs: number): void {
    this.#maxSessionMs.set(token, maxSessionMs);
  }

  /** The token's own limit; undefined: the server's. */
  maxSessionMs(token: StreamToken): number | undefined {
    return this.#maxSessionMs.get(token);
  }
}
