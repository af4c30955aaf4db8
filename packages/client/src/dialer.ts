/**
 * Opens the client's connections, one at a time: fetches a token first when the credential is a
 * provider's, sends a resume to the resume URL, and passes on the events of the current connection
 * only. A connection the client has dropped (or replaced) may still report; it is no longer the
 * client's, so what it says is ignored.
 */

import type { EarshotClientCoreOptions } from "./client-types.js";
import { Connection, type ConnectionEnd, type Established, type Handshake, type StreamMessage } from "./connection.js";
import type { Credentials } from "./credentials.js";
import type { EarshotClientError } from "./errors.js";
import { resumeUrl } from "./options.js";

export type DialerOptions = Pick<EarshotClientCoreOptions, "transport" | "connectTimeoutMs" | "heartbeatTimeoutMs">;

/** The events of the current connection (see ConnectionHandlers), and of a dial that made none. */
export interface DialerHandlers {
  established(connection: Connection, established: Established): void;
  message(message: StreamMessage): void;
  error(error: EarshotClientError): void;
  /** The current connection ended; there is none now. */
  ended(end: ConnectionEnd): void;
  /** No connection was opened: the token provider failed. */
  failed(error: EarshotClientError): void;
}

export class Dialer {
  /** The stream endpoint. */
  readonly url: string;
  readonly #credentials: Credentials;
  readonly #options: DialerOptions;
  readonly #handlers: DialerHandlers;
  #current: Connection | undefined;
  #stopped = false;

  constructor(url: string, credentials: Credentials, options: DialerOptions, handlers: DialerHandlers) {
    this.url = url;
    this.#credentials = credentials;
    this.#options = options;
    this.#handlers = handlers;
  }

  /** The client's connection (opening or open), if it has one. */
  get current(): Connection | undefined {
    return this.#current;
  }

  /** Opens a connection, after fetching a token first when the credential is a provider's. */
  dial(handshake: Handshake): void {
    const credentials = this.#credentials;
    if (!credentials.pending) {
      this.#open(handshake, credentials.current);
      return;
    }
    credentials.refresh().then(
      (token) => {
        if (!this.#stopped) this.#open(handshake, token);
      },
      (error: EarshotClientError) => {
        if (!this.#stopped) this.#handlers.failed(error);
      },
    );
  }

  /** Ends the current connection now; its end is not reported. */
  drop(error: EarshotClientError): void {
    const connection = this.#current;
    this.#current = undefined;
    connection?.drop(error);
  }

  /** The client has ended: a token that arrives later opens nothing. */
  stop(): void {
    this.#stopped = true;
  }

  #open(handshake: Handshake, credential: string | undefined): void {
    const url = handshake.kind === "resume" ? resumeUrl(this.url, handshake.token) : this.url;
    const connection: Connection = new Connection(
      {
        factory: this.#options.transport,
        request: { url, apiKey: credential },
        handshake,
        connectTimeoutMs: this.#options.connectTimeoutMs ?? 10_000,
        heartbeatTimeoutMs: this.#options.heartbeatTimeoutMs ?? 5_000,
      },
      {
        established: (established) => {
          if (connection !== this.#current) return;
          this.#credentials.established();
          this.#handlers.established(connection, established);
        },
        message: (message) => connection === this.#current && this.#handlers.message(message),
        error: (error) => connection === this.#current && this.#handlers.error(error),
        ended: (end) => {
          if (connection !== this.#current) return;
          this.#current = undefined;
          this.#handlers.ended(end);
        },
      },
    );
    this.#current = connection;
  }
}
