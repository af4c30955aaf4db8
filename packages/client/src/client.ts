/**
 * `EarshotClient`: one stream of audio to one transcript, over as many WebSocket connections as it
 * takes (see docs/reliability.md).
 *
 * Lifecycle (explicit, see TRANSITIONS): idle → connecting → open → closing → closed. When an open
 * connection drops (no `close_stream`, no auth or protocol error) the client goes `reconnecting`,
 * waits (backoff with full jitter), resumes the server session with its token and replays audio
 * from the position the server names; if the server lost the session it starts a new one at the
 * end of the last final. Audio goes through a bounded replay buffer (AudioSender), so what is
 * captured while disconnected is kept, and finals reach the application once, in order.
 */

import type { Encoding, SessionStartedMessage } from "@earshot/protocol";
import { encodeClientMessage } from "@earshot/protocol/client-message-encoder";
import { SAMPLES_PER_MS } from "@earshot/protocol/encodings";
import { TranscriptAggregator } from "./aggregator.js";
import { AudioSender } from "./audio-sender.js";
import {
  type ClientEvents,
  type ClientState,
  type CloseResult,
  type EarshotClientCoreOptions,
  type StateChange,
  TRANSITIONS,
} from "./client-types.js";
import { Connection, type ConnectionEnd, type Established, type Handshake, type StreamMessage } from "./connection.js";
import { Credentials } from "./credentials.js";
import { TypedEmitter } from "./emitter.js";
import { EarshotClientError } from "./errors.js";
import {
  type AudioMode,
  type Chunking,
  type ClientStreamConfig,
  configMessage,
  resolveChunking,
  resumeUrl,
  type SessionStart,
  streamUrl,
  type WireFormat,
} from "./options.js";
import { type PcmInput, PcmInputReader } from "./pcm-input.js";
import { Backoff } from "./reconnect.js";
import { StreamProgress } from "./stream-progress.js";

export type * from "./client-types.js";

type Deferred<T> = { promise: Promise<T>; resolve: (value: T) => void; reject: (error: EarshotClientError) => void };

export class EarshotClient extends TypedEmitter<ClientEvents> implements AsyncDisposable {
  readonly url: string;
  readonly mode: AudioMode;
  /** How audio goes on the wire (`options.encoding`, default pcm_s16le). */
  readonly encoding: Encoding;
  readonly chunking: Required<Chunking>;
  /** Every final of the stream by segment, plus the live partial. */
  readonly transcript = new TranscriptAggregator();
  readonly #options: EarshotClientCoreOptions;
  readonly #config: ClientStreamConfig;
  readonly #backoff: Backoff | undefined;
  readonly #sender: AudioSender;
  readonly #input = new PcmInputReader();
  readonly #credentials: Credentials;
  #state: ClientState = "idle";
  #connection: Connection | undefined;
  #session: SessionStartedMessage | undefined;
  #resumeToken: string | undefined;
  /** The start of the session being opened (a new session after a lost one starts mid-stream). */
  #sessionStart: SessionStart = { startSample: 0, firstSegmentId: 0 };
  readonly #progress = new StreamProgress();
  #connect: Deferred<SessionStartedMessage> | undefined;
  #closeRequested = false;
  #streamClosed = false;
  #audioMs: number | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The highest `received_samples` acked, so close() can tell an ack of new audio from a heartbeat. */
  #lastAckedSamples = 0;
  readonly #closed: Deferred<CloseResult>;
  #closeRequest: Promise<CloseResult> | undefined;
  /** The last error emitted, so the one that ends a connection is not reported twice. */
  #lastError: EarshotClientError | undefined;

  constructor(options: EarshotClientCoreOptions) {
    super();
    this.#options = options;
    this.#credentials = new Credentials(options.apiKey, options.token);
    this.url = streamUrl(options.url);
    this.mode = options.mode ?? "binary";
    this.encoding = options.encoding ?? "pcm_s16le";
    this.#config = options.config ?? {};
    this.chunking = resolveChunking(options.chunking, this.mode, this.#config.language ?? "en", this.encoding);
    const reconnect = options.reconnect ?? true;
    this.#backoff = reconnect === false ? undefined : new Backoff(reconnect === true ? {} : reconnect);
    this.#sender = new AudioSender({
      mode: this.mode,
      encoding: this.encoding,
      chunkSamples: Math.round(this.chunking.chunkMs * SAMPLES_PER_MS),
      overlapSamples: Math.round(this.chunking.overlapMs * SAMPLES_PER_MS),
      maxBufferedSamples: Math.round((options.maxBufferedAudioMs ?? 60_000) * SAMPLES_PER_MS),
      maxBufferedBytes: options.maxBufferedBytes ?? 64 * 1024,
      onDrain: () => this.emit("drain", undefined),
      onLost: (loss) => this.emit("audio_lost", { ...loss, reason: this.#state === "closed" ? "ended" : "overflow" }),
    });
    this.#closed = deferred();
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The server's latest `session_started`. */
  get session(): SessionStartedMessage | undefined {
    return this.#session;
  }

  /** Audio sent but not yet on a socket (backed up, or no connection), in ms. */
  get queuedMs(): number {
    return this.#sender.backlogSamples / SAMPLES_PER_MS;
  }

  /** Audio held for replay, in ms. */
  get bufferedMs(): number {
    return this.#sender.buffer.retainedSamples / SAMPLES_PER_MS;
  }

  /**
   * Opens the first connection, resolves on `session_started`. Rejects with an EarshotClientError
   * (`unauthorized`, `unsupported_language` …, `connection_failed`): the first connection is not
   * retried, so a wrong URL or key fails fast. Calling it again returns the same promise.
   */
  connect(): Promise<SessionStartedMessage> {
    if (this.#connect) return this.#connect.promise;
    if (this.#state !== "idle") {
      return Promise.reject(new EarshotClientError("invalid_state", `connect() in state ${this.#state}.`));
    }
    this.#connect = deferred();
    this.#transition({ to: "connecting" });
    this.#open({ kind: "start", config: () => configMessage(this.#config, this.#wire()) });
    return this.#connect.promise;
  }

  /**
   * Sends audio: 16 kHz mono as Int16Array, Float32Array (−1..1) or PCM16LE bytes (copied into the
   * replay buffer). Returns false while audio waits for the socket or a connection (`drain` follows).
   */
  send(pcm: PcmInput): boolean {
    this.#assertStreaming("send");
    const accepted = this.#sender.append(this.#input.read(pcm));
    this.#retain();
    return accepted;
  }

  /** Asks the server to end the current utterance after the audio sent so far. */
  finalize(): void {
    this.#assertStreaming("finalize");
    this.#sender.finalize();
  }

  /** Keeps an idle stream from timing out at proxies. */
  keepalive(): void {
    if (this.#state === "open" && this.#sender.backlogSamples === 0)
      this.#connection?.send(encodeClientMessage({ type: "keepalive" }));
  }

  /**
   * Sends what is left and `close_stream`, waits for the last finals (reconnecting if need be, up to
   * `closeTimeoutMs`), resolves when done. Idempotent; never rejects (failures are `error` events,
   * and `lostMs` says what never got its finals).
   */
  close(): Promise<CloseResult> {
    this.#closeRequest ??= this.#beginClose();
    return this.#closeRequest;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close().then(() => undefined);
  }

  #beginClose(): Promise<CloseResult> {
    if (this.#state === "idle") this.#finish(1000, "closed before connect");
    else if (this.#state === "connecting") {
      this.#giveUp(new EarshotClientError("connection_failed", "close() was called before the session started."));
    } else if (this.#state !== "closed") {
      this.#closeRequested = true;
      this.#sender.closeStream();
      if (this.#state === "open") this.#transition({ to: "closing" });
      this.#armCloseTimer();
    }
    return this.#closed.promise;
  }

  /**
   * close() gives up after `closeTimeoutMs` without progress: every final, and every ack of more
   * audio, starts the wait again, so a long backlog that is being worked through is not cut off.
   */
  #armCloseTimer(): void {
    clearTimeout(this.#closeTimer);
    const timeoutMs = this.#options.closeTimeoutMs ?? 10_000;
    this.#closeTimer = setTimeout(() => {
      this.#giveUp(new EarshotClientError("close_timeout", `No progress towards stream_closed for ${timeoutMs} ms.`));
    }, timeoutMs);
  }

  #assertStreaming(method: string): void {
    const streaming = this.#state === "connecting" || this.#state === "open" || this.#state === "reconnecting";
    if (!streaming || this.#closeRequested) {
      throw new EarshotClientError("invalid_state", `${method}() in state ${this.#state}.`);
    }
  }

  #transition(change: Omit<StateChange, "from">): void {
    const from = this.#state;
    if (!TRANSITIONS[from].includes(change.to)) {
      throw new EarshotClientError("invalid_state", `Illegal state transition ${from} → ${change.to}.`);
    }
    this.#state = change.to;
    this.emit("state", { from, ...change });
  }

  /** Opens a connection, after fetching a token first when the credential is a provider's. */
  #open(handshake: Handshake): void {
    if (!this.#credentials.pending) {
      this.#openWith(handshake, this.#credentials.current);
      return;
    }
    this.#credentials.refresh().then(
      (token) => {
        if (this.#state !== "closed") this.#openWith(handshake, token);
      },
      (error: EarshotClientError) => {
        if (this.#state !== "closed") this.#attemptFailed(error, 1006);
      },
    );
  }

  #openWith(handshake: Handshake, credential: string | undefined): void {
    const connection: Connection = new Connection(
      {
        factory: this.#options.transport,
        request: {
          url: handshake.kind === "resume" ? resumeUrl(this.url, handshake.token) : this.url,
          apiKey: credential,
        },
        handshake,
        connectTimeoutMs: this.#options.connectTimeoutMs ?? 10_000,
        heartbeatTimeoutMs: this.#options.heartbeatTimeoutMs ?? 5_000,
      },
      {
        established: (e) => connection === this.#connection && this.#onEstablished(connection, e),
        message: (m) => connection === this.#connection && this.#onMessage(m),
        error: (e) => connection === this.#connection && this.#onServerError(e),
        ended: (end) => connection === this.#connection && this.#onEnded(end),
      },
    );
    this.#connection = connection;
  }

  #onEstablished(connection: Connection, established: Established): void {
    this.#backoff?.connected();
    this.#credentials.established();
    const resumed = established.kind === "resumed";
    let fromSample: number;
    if (established.kind === "started") {
      this.#session = established.session;
      this.#resumeToken = established.session.resume_token;
      fromSample = established.session.config.start_sample ?? this.#sessionStart.startSample;
    } else fromSample = established.resumed.received_samples;
    this.#progress.connectedAt(fromSample);
    this.#sender.attach(connection, fromSample);
    if (this.#state === "connecting") {
      this.#transition({ to: "open" });
      if (this.#session) this.#connect?.resolve(this.#session);
    } else this.#transition({ to: "open", resumed });
    if (!resumed && this.#session) this.emit("session", this.#session);
    if (this.#closeRequested) this.#transition({ to: "closing" });
  }

  #onMessage(message: StreamMessage): void {
    switch (message.type) {
      case "transcript":
        // Finals a resumed session re-sends, and partials of settled segments, are already delivered.
        if (!this.#progress.accept(message)) return;
        if (message.is_final) {
          this.#retain();
          if (this.#closeTimer) this.#armCloseTimer();
        }
        this.transcript.add(message);
        this.emit(message.is_final ? "final" : "partial", message);
        return;
      case "ack":
        if (this.#closeTimer && message.received_samples > this.#lastAckedSamples) this.#armCloseTimer();
        this.#lastAckedSamples = Math.max(this.#lastAckedSamples, message.received_samples);
        this.#progress.acked(message.received_samples);
        this.#retain();
        return;
      case "warning":
        this.emit("warning", { code: message.code, message: message.message });
        return;
      case "utterance_end":
        this.emit("utterance_end", message);
        return;
      case "stream_closed":
        this.#audioMs = message.audio_ms;
        this.#streamClosed = true;
        return;
    }
  }

  #onServerError(error: EarshotClientError): void {
    // A retryable error (engine restart, server shutting down) is handled by reconnecting: the
    // `reconnecting` state change carries it.
    if (!(error.retryable && this.#resumable())) this.#emitError(error);
  }

  #emitError(error: EarshotClientError): void {
    if (error === this.#lastError) return;
    this.#lastError = error;
    this.emit("error", error);
  }

  #onEnded(end: ConnectionEnd): void {
    this.#connection = undefined;
    this.#sender.detach();
    if (this.#state === "connecting") {
      this.#attemptFailed(
        end.error ??
          new EarshotClientError("connection_failed", `Connection closed (${end.code}) before the session started.`, {
            closeCode: end.code,
          }),
        end.code,
      );
      return;
    }
    if (end.established) this.#backoff?.disconnected();
    if (this.#streamClosed && this.#closeRequested) {
      this.#finish(end.code, end.reason || "stream closed");
      return;
    }
    // The token died with its session (or with the server): the next attempt gets a fresh one.
    if (end.error?.code === "invalid_token" && this.#resumable() && this.#credentials.refused()) {
      this.#retry(end.error);
      return;
    }
    const cause =
      end.error ??
      new EarshotClientError(
        "connection_lost",
        `Connection closed with ${end.code}${end.reason ? ` (${end.reason})` : ""}.`,
        {
          closeCode: end.code,
        },
      );
    const normalClose = end.code === 1000 && end.error === undefined;
    if (this.#resumable() && cause.retryable && !normalClose) this.#retry(cause);
    else this.#fail(cause, end.code);
  }

  /** A connection attempt failed before a session: the first ends the client, later ones back off. */
  #attemptFailed(error: EarshotClientError, code: number): void {
    if (this.#state === "connecting") {
      this.#connect?.reject(error);
      this.#finish(code, error.message, error);
    } else if (this.#resumable() && error.retryable) this.#retry(error);
    else this.#fail(error, code);
  }

  #retry(cause: EarshotClientError): void {
    const next = this.#backoff?.next();
    const token = this.#resumeToken;
    if (next === undefined || token === undefined) {
      this.#fail(
        new EarshotClientError(
          "connection_lost",
          `Gave up reconnecting after ${this.#backoff?.attempt} attempts: ${cause.message}`,
        ),
        1006,
      );
      return;
    }
    this.#transition({ to: "reconnecting", attempt: next.attempt, delayMs: next.delayMs, error: cause });
    this.#retryTimer = setTimeout(() => {
      this.#open({
        kind: "resume",
        token,
        lastSegmentId: this.#progress.lastFinalId,
        config: () => {
          this.#sessionStart = this.#progress.newSession(this.#sender.buffer.endSample);
          return configMessage(this.#config, this.#wire(), this.#sessionStart);
        },
      });
    }, next.delayMs);
  }

  #wire(): WireFormat {
    return { encoding: this.encoding, overlapMs: this.chunking.overlapMs };
  }

  #resumable(): boolean {
    return this.#backoff !== undefined && this.#resumeToken !== undefined;
  }

  /** Keeps what a resume (unacknowledged audio) or a new session (audio after the last final) may need. */
  #retain(): void {
    this.#sender.release(this.#resumable() ? this.#progress.neededFromSample : Number.POSITIVE_INFINITY);
  }

  #fail(error: EarshotClientError, code: number): void {
    this.#emitError(error);
    this.#finish(code, error.message, error);
  }

  /** Ends the stream from the client's side now (connect aborted, close timed out). */
  #giveUp(error: EarshotClientError): void {
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.drop(error);
    if (this.#state === "connecting") this.#connect?.reject(error);
    else this.#emitError(error);
    this.#finish(1006, error.message, error);
  }

  #finish(code: number, reason: string, error?: EarshotClientError): void {
    if (this.#state === "closed") return;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#closeTimer);
    this.#sender.close();
    this.#transition({ to: "closed", reason, ...(error ? { error } : {}) });
    // Without stream_closed, the audio after the last final never got its finals.
    if (!this.#streamClosed) this.#sender.report(this.#progress.finalEndSample, this.#sender.buffer.endSample);
    const lostMs = this.#sender.lostSamples / SAMPLES_PER_MS;
    this.#closed.resolve({ code, reason, audioMs: this.#audioMs, lostMs });
  }
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  let reject: (error: EarshotClientError) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
