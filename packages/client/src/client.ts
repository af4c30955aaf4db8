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
import { CloseDeadline } from "./close-deadline.js";
import { type Connection, type ConnectionEnd, type Established, endCause, isNormalClose } from "./connection.js";
import { Credentials } from "./credentials.js";
import { type Deferred, deferred } from "./deferred.js";
import { Dialer } from "./dialer.js";
import { TypedEmitter } from "./emitter.js";
import { EarshotClientError } from "./errors.js";
import { type AudioMode, type Chunking, configMessage, resolveChunking, streamUrl } from "./options.js";
import { type PcmInput, PcmInputReader, WholeFrames } from "./pcm-input.js";
import { ReconnectLoop } from "./reconnect-loop.js";
import { StreamReceiver } from "./stream-receiver.js";

export type * from "./client-types.js";

export class EarshotClient extends TypedEmitter<ClientEvents> implements AsyncDisposable {
  readonly url: string;
  readonly mode: AudioMode;
  /** How audio goes on the wire (`options.encoding`, default pcm_s16le). */
  readonly encoding: Encoding;
  readonly chunking: Required<Chunking>;
  /** Channels in the audio (`options.channels`, default 1). */
  readonly channels: 1 | 2;
  /** Each channel's finals by segment, plus its live partial. */
  readonly transcripts: readonly TranscriptAggregator[];
  /** Every final of the stream by segment, plus the live partial (with two channels: channel 0's). */
  readonly transcript: TranscriptAggregator;
  readonly #sender: AudioSender;
  readonly #input = new PcmInputReader();
  readonly #frames: WholeFrames;
  readonly #credentials: Credentials;
  readonly #dialer: Dialer;
  readonly #reconnect: ReconnectLoop;
  readonly #closeDeadline: CloseDeadline;
  readonly #receiver: StreamReceiver;
  #state: ClientState = "idle";
  #session: SessionStartedMessage | undefined;
  #connect: Deferred<SessionStartedMessage> | undefined;
  #closeRequested = false;
  readonly #closed = deferred<CloseResult>();
  #closeRequest: Promise<CloseResult> | undefined;
  /** The last error emitted, so the one that ends a connection is not reported twice. */
  #lastError: EarshotClientError | undefined;

  constructor(options: EarshotClientCoreOptions) {
    super();
    this.#credentials = new Credentials(options.apiKey, options.token);
    this.url = streamUrl(options.url);
    this.mode = options.mode ?? "binary";
    this.encoding = options.encoding ?? "pcm_s16le";
    this.channels = options.channels ?? 1;
    if (this.channels === 2 && this.encoding === "opus") {
      throw new RangeError("Opus carries one channel: two channels take pcm_s16le, mulaw or alaw.");
    }
    this.#frames = new WholeFrames(this.channels);
    this.transcripts = Array.from({ length: this.channels }, () => new TranscriptAggregator());
    this.transcript = this.transcripts[0] as TranscriptAggregator;
    const config = options.config ?? {};
    this.chunking = resolveChunking(options.chunking, this.mode, config.language ?? "en", this.encoding, this.channels);
    this.#sender = new AudioSender({
      mode: this.mode,
      encoding: this.encoding,
      channels: this.channels,
      chunkSamples: Math.round(this.chunking.chunkMs * SAMPLES_PER_MS),
      overlapSamples: Math.round(this.chunking.overlapMs * SAMPLES_PER_MS),
      maxBufferedSamples: Math.round((options.maxBufferedAudioMs ?? 60_000) * SAMPLES_PER_MS),
      maxBufferedBytes: options.maxBufferedBytes ?? 64 * 1024,
      onDrain: () => this.emit("drain", undefined),
      onLost: (loss) => this.emit("audio_lost", { ...loss, reason: this.#state === "closed" ? "ended" : "overflow" }),
    });
    this.#closeDeadline = new CloseDeadline(options.closeTimeoutMs ?? 10_000, (error) => this.#giveUp(error));
    this.#receiver = new StreamReceiver({
      transcripts: this.transcripts,
      closeDeadline: this.#closeDeadline,
      emit: (event, payload) => this.emit(event, payload),
      progressed: () => this.#retain(),
    });
    const wire = { encoding: this.encoding, overlapMs: this.chunking.overlapMs, channels: this.channels };
    this.#reconnect = new ReconnectLoop({
      reconnect: options.reconnect ?? true,
      progress: this.#receiver.progress,
      endSample: () => this.#sender.buffer.endSample,
      config: (start) => configMessage(config, wire, start),
    });
    this.#dialer = new Dialer(this.url, this.#credentials, options, {
      established: (connection, established) => this.#onEstablished(connection, established),
      message: (message) => this.#receiver.receive(message),
      error: (error) => this.#onServerError(error),
      ended: (end) => this.#onEnded(end),
      failed: (error) => this.#attemptFailed(error, 1006),
    });
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
    this.#dialer.dial(this.#reconnect.firstHandshake());
    return this.#connect.promise;
  }

  /**
   * Sends audio: 16 kHz mono as Int16Array, Float32Array (−1..1) or PCM16LE bytes (copied into the
   * replay buffer); with two channels, interleaved frames (a call may end inside one: the rest waits
   * for the next). Returns false while audio waits for the socket or a connection (`drain` follows).
   */
  send(pcm: PcmInput): boolean {
    this.#assertStreaming("send");
    const accepted = this.#sender.append(this.#frames.push(this.#input.read(pcm)));
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
      this.#dialer.current?.send(encodeClientMessage({ type: "keepalive" }));
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
      this.#closeDeadline.start();
    }
    return this.#closed.promise;
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

  #onEstablished(connection: Connection, established: Established): void {
    this.#reconnect.connected();
    const resumed = established.kind === "resumed";
    let fromSample: number;
    if (established.kind === "started") {
      if (this.channels === 2 && established.session.config.channels !== 2) {
        // A server before two-channel streams ignores `channels` (with a warning): mono it is not.
        const error = new EarshotClientError(
          "unsupported_encoding",
          "The server does not take two channels on one connection (its session_started has no channels: 2).",
        );
        this.#giveUp(error);
        return;
      }
      this.#session = established.session;
      fromSample = this.#reconnect.started(established.session);
    } else fromSample = established.resumed.received_samples;
    this.#receiver.progress.connectedAt(fromSample);
    this.#sender.attach(connection, fromSample);
    if (this.#state === "connecting") {
      this.#transition({ to: "open" });
      if (this.#session) this.#connect?.resolve(this.#session);
    } else {
      const moved = established.kind === "resumed" && established.resumed.moved === true;
      this.#transition({ to: "open", resumed, ...(moved ? { moved } : {}) });
    }
    if (!resumed && this.#session) this.emit("session", this.#session);
    if (this.#closeRequested) this.#transition({ to: "closing" });
  }

  #onServerError(error: EarshotClientError): void {
    // A retryable error (engine restart, server shutting down) is handled by reconnecting: the
    // `reconnecting` state change carries it.
    if (!(error.retryable && this.#reconnect.resumable)) this.#emitError(error);
  }

  #emitError(error: EarshotClientError): void {
    if (error === this.#lastError) return;
    this.#lastError = error;
    this.emit("error", error);
  }

  #onEnded(end: ConnectionEnd): void {
    this.#sender.detach();
    const cause = endCause(end, this.#state === "connecting");
    if (this.#state === "connecting") {
      this.#attemptFailed(cause, end.code);
      return;
    }
    if (end.established) this.#reconnect.disconnected();
    // The server cannot continue from the checkpoint: the next session starts where the last final ended.
    if (cause.code === "invalid_resume_state" && this.#receiver.progress.forgetCheckpoint()) {
      this.#retry(cause);
      return;
    }
    if (this.#receiver.streamClosed && this.#closeRequested) {
      this.#finish(end.code, end.reason || "stream closed");
      return;
    }
    // The token died with its session (or with the server): the next attempt gets a fresh one.
    if (cause.code === "invalid_token" && this.#reconnect.resumable && this.#credentials.refused()) {
      this.#retry(cause);
      return;
    }
    // A draining node closed a stream it served (1012 `draining`): move at once. Its refusals of
    // later attempts (503 `draining`: no balancer picked another node) back off as usual.
    const move = end.established && cause.code === "draining";
    if (this.#reconnect.resumable && cause.retryable && !isNormalClose(end)) this.#retry(cause, move);
    else this.#fail(cause, end.code);
  }

  /** A connection attempt failed before a session: the first ends the client, later ones back off. */
  #attemptFailed(error: EarshotClientError, code: number): void {
    if (this.#state === "connecting") {
      this.#connect?.reject(error);
      this.#finish(code, error.message, error);
    } else if (this.#reconnect.resumable && error.retryable) this.#retry(error);
    else this.#fail(error, code);
  }

  /** `now`: skip the backoff's wait (a draining node asked for the move). */
  #retry(cause: EarshotClientError, now = false): void {
    const next = this.#reconnect.next();
    if (next === undefined) {
      const attempts = this.#reconnect.attempt;
      this.#fail(
        new EarshotClientError("connection_lost", `Gave up reconnecting after ${attempts} attempts: ${cause.message}`),
        1006,
      );
      return;
    }
    const delayMs = now ? 0 : next.delayMs;
    this.#transition({ to: "reconnecting", attempt: next.attempt, delayMs, error: cause });
    this.#reconnect.resumeAfter(delayMs, (handshake) => this.#dialer.dial(handshake));
  }

  /** Keeps what a resume (unacknowledged audio) or a new session (audio after the last final) may need. */
  #retain(): void {
    this.#sender.release(
      this.#reconnect.resumable ? this.#receiver.progress.neededFromSample : Number.POSITIVE_INFINITY,
    );
  }

  #fail(error: EarshotClientError, code: number): void {
    this.#emitError(error);
    this.#finish(code, error.message, error);
  }

  /** Ends the stream from the client's side now (connect aborted, close timed out). */
  #giveUp(error: EarshotClientError): void {
    this.#dialer.drop(error);
    if (this.#state === "connecting") this.#connect?.reject(error);
    else this.#emitError(error);
    this.#finish(1006, error.message, error);
  }

  #finish(code: number, reason: string, error?: EarshotClientError): void {
    if (this.#state === "closed") return;
    this.#dialer.stop();
    this.#reconnect.cancel();
    this.#closeDeadline.stop();
    this.#sender.close();
    this.#transition({ to: "closed", reason, ...(error ? { error } : {}) });
    // Without stream_closed, the audio after the last final never got its finals.
    const { progress, streamClosed, audioMs } = this.#receiver;
    if (!streamClosed) this.#sender.report(progress.finalEndSample, this.#sender.buffer.endSample);
    const lostMs = this.#sender.lostSamples / SAMPLES_PER_MS;
    this.#closed.resolve({ code, reason, audioMs, lostMs });
  }
}
