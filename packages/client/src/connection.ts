/**
 * One WebSocket connection of a client's stream: opens the transport, runs the handshake (`config`
 * → `session_started`, or `resume` → `session_resumed`, falling back to a new session's `config`
 * on `session_not_found`), watches liveness, and reports how it ended, exactly once.
 *
 * Liveness: a server that supports resume acknowledges audio and sends an `ack` at least every
 * second when idle, so a connection that has been silent for `heartbeatTimeoutMs` is dropped as
 * half-open (a TCP connection whose peer vanished can look open for minutes otherwise).
 */
import type {
  AckMessage,
  CheckpointMessage,
  SessionResumedMessage,
  SessionStartedMessage,
  StreamClosedMessage,
  TranscriptMessage,
  UtteranceEndMessage,
  WarningMessage,
} from "@earshot/protocol";
import { encodeClientMessage } from "@earshot/protocol/client-message-encoder";
import { EarshotClientError } from "./errors.js";
import { parseServerMessage } from "./server-messages.js";
import type { Transport, TransportFactory, TransportRequest } from "./transport.js";

export type Handshake =
  | { readonly kind: "start"; readonly config: () => string }
  | {
      readonly kind: "resume";
      readonly token: string;
      /** Per channel (one for a one-channel stream): the last final segment_id delivered. */
      readonly lastSegmentIds: readonly number[];
      /** Where the last final delivered ends (stream position): where another node may continue the session. */
      readonly lastFinalEndSample: number;
      /** The `config` for a new session, asked for when the server no longer has this one. */
      readonly config: () => string;
    };

export type Established =
  | { readonly kind: "started"; readonly session: SessionStartedMessage }
  | { readonly kind: "resumed"; readonly resumed: SessionResumedMessage };

export type StreamMessage =
  | TranscriptMessage
  | AckMessage
  | WarningMessage
  | UtteranceEndMessage
  | CheckpointMessage
  | StreamClosedMessage;

export interface ConnectionEnd {
  readonly code: number;
  readonly reason: string;
  /** Why it ended, when known (server error, transport failure, timeout, protocol error). */
  readonly error: EarshotClientError | undefined;
  readonly established: boolean;
}

/**
 * The error a connection's end stands for: its own cause, else one made from the close code
 * (`connection_failed` for the stream's first connection, whose failure is not retried).
 */
export function endCause(end: ConnectionEnd, firstConnection: boolean): EarshotClientError {
  if (end.error) return end.error;
  const closeCode = end.code;
  if (firstConnection) {
    return new EarshotClientError("connection_failed", `Connection closed (${closeCode}) before the session started.`, {
      closeCode,
    });
  }
  const reason = end.reason ? ` (${end.reason})` : "";
  return new EarshotClientError("connection_lost", `Connection closed with ${closeCode}${reason}.`, { closeCode });
}

/** The server closed normally (1000, no error): the stream is over on purpose, not to be resumed. */
export function isNormalClose(end: ConnectionEnd): boolean {
  return end.code === 1000 && end.error === undefined;
}

export interface ConnectionHandlers {
  established(established: Established): void;
  message(message: StreamMessage): void;
  /** A server `error` or a protocol violation after the handshake. */
  error(error: EarshotClientError): void;
  ended(end: ConnectionEnd): void;
}

export interface ConnectionOptions {
  readonly factory: TransportFactory;
  readonly request: TransportRequest;
  readonly handshake: Handshake;
  readonly connectTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
}

export class Connection {
  readonly #options: ConnectionOptions;
  readonly #handlers: ConnectionHandlers;
  #transport: Transport | undefined;
  #established = false;
  #ended = false;
  #failure: EarshotClientError | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat = false;
  /** The answer the handshake waits for. */
  #expected: "session_started" | "session_resumed";

  constructor(options: ConnectionOptions, handlers: ConnectionHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#expected = options.handshake.kind === "resume" ? "session_resumed" : "session_started";
    this.#timer = setTimeout(() => {
      this.drop(new EarshotClientError("connection_failed", `No session after ${options.connectTimeoutMs} ms.`));
    }, options.connectTimeoutMs);
    try {
      this.#transport = options.factory(options.request, {
        open: () => this.#onOpen(),
        message: (data) => this.#onMessage(data),
        error: (error) => {
          this.#failure ??= error;
        },
        close: (code, reason) => this.#end(code, reason),
      });
    } catch (error) {
      queueMicrotask(() =>
        this.drop(
          error instanceof EarshotClientError
            ? error
            : new EarshotClientError("connection_failed", String(error), { cause: error }),
        ),
      );
    }
  }

  get bufferedAmount(): number {
    return this.#transport?.bufferedAmount ?? 0;
  }

  send(data: string | Uint8Array): void {
    if (!this.#ended) this.#transport?.send(data);
  }

  /** Ends the connection now (no closing handshake) and reports the end at once. */
  drop(error: EarshotClientError, code = 1006): void {
    if (this.#ended) return;
    this.#failure ??= error;
    const transport = this.#transport;
    if (transport?.terminate) transport.terminate();
    else transport?.close(1000, "client gave up");
    this.#end(code, error.message);
  }

  #onOpen(): void {
    const { handshake } = this.#options;
    if (handshake.kind === "start") this.#transport?.send(handshake.config());
    else {
      this.#transport?.send(
        encodeClientMessage({
          type: "resume",
          resume_token: handshake.token,
          // One channel: the field every server knows.
          ...(handshake.lastSegmentIds.length === 1
            ? { last_segment_id: handshake.lastSegmentIds[0] ?? -1 }
            : { last_segment_ids: [...handshake.lastSegmentIds] }),
          last_final_end_sample: handshake.lastFinalEndSample,
        }),
      );
    }
  }

  #onMessage(data: string | Uint8Array): void {
    if (this.#ended) return;
    if (this.#heartbeat) this.#watch();
    if (typeof data !== "string") {
      this.#protocolError("the server sent a binary frame");
      return;
    }
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      this.#protocolError(parsed.reason);
      return;
    }
    const message = parsed.message;
    if (message === undefined) return;
    switch (message.type) {
      case "session_started":
      case "session_resumed":
        if (this.#established || message.type !== this.#expected) {
          this.#protocolError(`an unexpected ${message.type}`);
          return;
        }
        this.#established = true;
        // Only a server that can resume sends acks, the heartbeat this timer relies on.
        this.#heartbeat = message.type === "session_resumed" || typeof message.resume_token === "string";
        clearTimeout(this.#timer);
        if (this.#heartbeat) this.#watch();
        this.#handlers.established(
          message.type === "session_started"
            ? { kind: "started", session: message }
            : { kind: "resumed", resumed: message },
        );
        return;
      case "error": {
        const error = new EarshotClientError(message.code, message.message, { retryable: message.retryable });
        if (this.#established) {
          this.#failure ??= error;
          this.#handlers.error(error);
        } else if (message.code === "session_not_found" && this.#expected === "session_resumed") {
          // The connection stays open for a new session that starts where the client's finals end.
          this.#expected = "session_started";
          this.#transport?.send(this.#options.handshake.config());
        } else {
          // e.g. unsupported_language: the server would wait for another config; this client will not.
          this.drop(error);
        }
        return;
      }
      default:
        if (this.#established) this.#handlers.message(message);
    }
  }

  #protocolError(reason: string): void {
    const error = new EarshotClientError("protocol_error", `Unexpected server message: ${reason}.`);
    if (!this.#established) this.drop(error);
    else {
      this.#failure ??= error;
      this.#handlers.error(error);
    }
  }

  #watch(): void {
    clearTimeout(this.#timer);
    const { heartbeatTimeoutMs } = this.#options;
    this.#timer = setTimeout(() => {
      this.drop(new EarshotClientError("connection_lost", `No message from the server for ${heartbeatTimeoutMs} ms.`));
    }, heartbeatTimeoutMs);
  }

  #end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#handlers.ended({ code, reason, error: this.#failure, established: this.#established });
  }
}
