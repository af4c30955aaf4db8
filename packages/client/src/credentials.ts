/**
 * What the client authenticates its connections with: an API key (the same for every connection),
 * or a stream token, given as a string or fetched from a `TokenProvider`.
 *
 * A stream token opens one stream, and gets that stream's reconnects in only while its server
 * session lives; a restarted server knows no token at all. So when the server refuses the token
 * (`invalid_token`) after it had worked, a provider is asked for a fresh one and the stream goes on
 * in a new session (from the last final, as after `session_not_found`). Without a provider, or when
 * a token fresh from the provider is refused, the refusal is final.
 */
import { EarshotClientError } from "./errors.js";

/**
 * Returns a fresh stream token (e.g. from your backend, or `mintStreamToken`). Throw an
 * EarshotClientError with `retryable: false` to end the stream; any other failure counts as a
 * failed connection attempt and is retried with backoff.
 */
export type TokenProvider = () => string | Promise<string>;

export class Credentials {
  readonly #provider: TokenProvider | undefined;
  #current: string | undefined;
  /** The current credential opened a session: a refusal now means it died, not that it was bad. */
  #proven = false;

  constructor(apiKey: string | undefined, token: string | TokenProvider | undefined) {
    if (apiKey !== undefined && token !== undefined) throw new RangeError("Pass apiKey or token, not both.");
    if (typeof token === "function") this.#provider = token;
    else this.#current = apiKey ?? token;
  }

  /** The credential is fetched before a connection (the first, or the next after a refusal). */
  get pending(): boolean {
    return this.#provider !== undefined && this.#current === undefined;
  }

  /** The credential for the next connection (undefined: none, for a server without keys). */
  get current(): string | undefined {
    return this.#current;
  }

  /** Asks the provider for a token (when `pending`); rejects with an EarshotClientError. */
  async refresh(): Promise<string> {
    const provider = this.#provider;
    if (provider === undefined) throw new EarshotClientError("invalid_state", "No token provider.");
    let token: unknown;
    try {
      token = await provider();
    } catch (error) {
      if (error instanceof EarshotClientError) throw error;
      throw new EarshotClientError("connection_failed", `The token provider failed: ${String(error)}`, {
        cause: error,
      });
    }
    if (typeof token !== "string" || token === "") {
      throw new EarshotClientError("invalid_token", "The token provider returned no token.", { retryable: false });
    }
    this.#current = token;
    this.#proven = false;
    return token;
  }

  /** A connection with the current credential opened (or resumed) a session. */
  established(): void {
    this.#proven = true;
  }

  /**
   * The server refused the current credential with `invalid_token`. True when a fresh token will be
   * fetched for the next attempt; false when the refusal is final.
   */
  refused(): boolean {
    if (this.#provider === undefined || !this.#proven) return false;
    this.#current = undefined;
    return true;
  }
}
