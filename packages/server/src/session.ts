/**
 * One stream: opening → streaming → closing → closed, fed by a connection and able to outlive it.
 * When its connection drops without `close_stream`, the session keeps its engine stream for a grace
 * period and keeps the finals it produces; a new connection that presents the resume token takes
 * it over, is told where the audio stands, and gets the finals it missed, once. After
 * `stream_closed` the session stays `finished` (engine stream released) for the same grace period,
 * so a client whose connection dropped before `stream_closed` reached it can resume and get it.
 *
 * A decoder is the costly part of a session (about 100 MB for PocketSphinx), so a waiting session
 * keeps its engine stream only briefly (`holdDecoderMs`), or less when the server needs the room
 * (`releaseDecoder`): it is then `released`, holding only its finals. A resume of a released session
 * opens a fresh engine stream at the end of its last final and has the client replay from there,
 * as a new session after a server restart does: finals stay complete and exactly-once.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Engine, EngineEvent, EngineStream } from "@earshot/engines";
import {
  CloseCode,
  ERRORS,
  type ErrorCode,
  msToSamples,
  PROTOCOL_VERSION,
  SAMPLE_RATE,
  type StreamConfig,
  samplesToMs,
} from "@earshot/protocol";
import type { Logger } from "pino";
import { ArrivalTimes } from "./arrival-times.js";
import type { Connection } from "./connection.js";
import { engineErrorCode } from "./engine-error-code.js";
import type { ServerMetrics } from "./metrics.js";
import { type ResolvedConfig, resolveConfig } from "./stream-config.js";
import { TranscriptSegments } from "./transcript-segments.js";
import { createWireDecoder, type WireDecoder } from "./wire-decoder.js";

export interface SessionLimits {
  /** Largest WebSocket message accepted; larger ones end the stream with `frame_too_large`. */
  readonly maxFrameBytes: number;
  /** Longest stream, in audio and in wall-clock time, before `session_too_long`. */
  readonly maxSessionMs: number;
  /** Audio held while the engine stream opens; more than this ends the stream (engine too slow). */
  readonly maxPendingMs: number;
  /** How long a session whose connection dropped waits for a `resume`. */
  readonly resumeGraceMs: number;
  /** How long a session whose connection dropped keeps its engine stream (decoder) before releasing it. */
  readonly holdDecoderMs: number;
  /** Stop reading the client's socket while the engine is this far behind; resume below half. */
  readonly maxEngineBacklogMs: number;
  /**
   * Longest utterance, in ms of stream time from its first partial's `start_ms`: then the engine is
   * flushed, so a final comes with `speech_final: false` and the next words start a new segment.
   */
  readonly maxUtteranceMs: number;
  /** Messages a client may leave unread (bytes) before it is closed with `slow_consumer`. */
  readonly maxOutboundBytes: number;
}

/**
 * `released`: waiting for a resume without an engine stream (see `releaseDecoder`).
 * `finished`: stream_closed was sent; only the finals are kept, for a client that missed it.
 */
type State = "idle" | "opening" | "streaming" | "closing" | "released" | "finished" | "closed";

/** Why a waiting session gave its decoder back: its hold time ran out, or the server needed the room. */
export type ReleaseReason = "hold_expired" | "key_budget" | "node_budget";

/** Acks go out at least this often while audio flows (250 ms of audio)... */
const ACK_EVERY_SAMPLES = SAMPLE_RATE / 4;
/** ...and at least this often in any case, as a heartbeat. */
const ACK_INTERVAL_MS = 1000;
const BACKLOG_POLL_MS = 20;

export interface SessionHooks {
  /** The session is over: forget its resume token. */
  onClosed(session: StreamSession): void;
  /** The connection dropped: the session now waits for a resume. */
  onWaiting?(session: StreamSession): void;
  /** A waiting session gave its engine stream back. */
  onReleased?(session: StreamSession, reason: ReleaseReason): void;
  readonly metrics: ServerMetrics;
}

export class StreamSession {
  readonly id = randomUUID();
  readonly resumeToken = `rt_${randomBytes(24).toString("base64url")}`;
  readonly #engine: Engine;
  readonly #limits: SessionLimits;
  readonly #log: Logger;
  readonly #hooks: SessionHooks;
  readonly #wallClockTimer: NodeJS.Timeout;
  readonly #ackTimer: NodeJS.Timeout;
  #connection: Connection | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #holdTimer: NodeJS.Timeout | undefined;
  /** When the connection dropped (`performance.now()`), while waiting for a resume. */
  #waitingSince = 0;
  #backlogTimer: NodeJS.Timeout | undefined;
  #state: State = "idle";
  #config: ResolvedConfig | undefined;
  #stream: EngineStream | undefined;
  #decoder: WireDecoder | undefined;
  /** Audio received while the engine stream was opening. */
  #pending: Int16Array[] = [];
  #pendingSamples = 0;
  #finishRequested = false;
  /** After close_stream: the engine has given its last final; stream_closed is owed. */
  #drained = false;
  #startSample = 0;
  /** Where a fresh engine stream would start: the end of the last final (or the session's start). */
  #restartSample = 0;
  /** Stream position after the last sample received. */
  #position = 0;
  #ackedPosition = 0;
  #lastAckAt = 0;
  #segments: TranscriptSegments | undefined;
  /** When the audio arrived, for the latency metrics. */
  #arrivals: ArrivalTimes | undefined;
  /** `start_ms` of the utterance in progress (its first partial); undefined between utterances. */
  #utteranceStartMs: number | undefined;
  /** The utterance reached maxUtteranceMs and the engine was flushed; its final has not come yet. */
  #cutPending = false;
  /** Usage the engine reported so far (its events carry totals). */
  #usage = { audioMs: 0, processingMs: 0 };
  #pumpDone: Promise<void> = Promise.resolve();

  constructor(connection: Connection, engine: Engine, limits: SessionLimits, log: Logger, hooks: SessionHooks) {
    this.#connection = connection;
    this.#engine = engine;
    this.#limits = limits;
    this.#hooks = hooks;
    this.#log = log.child({ session: this.id });
    this.#wallClockTimer = setTimeout(
      () => this.#guard("the session time limit", () => this.#fail("session_too_long")),
      limits.maxSessionMs,
    );
    this.#wallClockTimer.unref();
    this.#ackTimer = setInterval(() => {
      this.#guard("the ack heartbeat", () => {
        if (Date.now() - this.#lastAckAt >= ACK_INTERVAL_MS) this.#ack();
      });
    }, ACK_INTERVAL_MS / 4);
    this.#ackTimer.unref();
  }

  /** True once a config was accepted (audio may flow). */
  get configured(): boolean {
    return this.#state === "opening" || this.#state === "streaming";
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  /** End a session that waits for a resume: its token stops working. */
  expire(): void {
    if (this.waiting) this.#dispose();
  }

  /** Alive but without a connection: waiting for a resume (holding its engine stream, or `released`). */
  get waiting(): boolean {
    return this.#connection === undefined && this.#state !== "closed" && this.#state !== "finished";
  }

  /** When it started waiting (`performance.now()`); meaningful while `waiting`. */
  get waitingSince(): number {
    return this.#waitingSince;
  }

  /** Waiting for a resume without an engine stream: a resume needs room for a new one. */
  get released(): boolean {
    return this.#state === "released";
  }

  /** Holds (or is opening) an engine stream: what counts against the server's and the key's streams. */
  get holdsDecoder(): boolean {
    return this.#state === "opening" || this.#state === "streaming" || this.#state === "closing";
  }

  /** stream_closed was sent; the session is kept without an engine stream until its grace ends. */
  get finished(): boolean {
    return this.#state === "finished";
  }

  /** How far the engine is behind on this stream, in ms of audio. */
  get backlogMs(): number {
    return this.#stream?.backlogMs ?? 0;
  }

  /** Validates the config (errors go to the connection) and starts opening the engine stream. */
  configure(config: StreamConfig): boolean {
    if (!this.#engine.ready) {
      this.#fail("engine_unavailable", `The ${this.#engine.name} engine is not loaded.`);
      return false;
    }
    const resolved = resolveConfig(config, this.#engine);
    if (!resolved.ok) {
      this.#connection?.error(resolved.code, resolved.message);
      this.#dispose();
      return false;
    }
    this.#config = resolved.config;
    this.#decoder = createWireDecoder(resolved.config.encoding, resolved.config.overlapMs);
    this.#startSample = resolved.config.startSample;
    this.#position = this.#startSample;
    this.#ackedPosition = this.#startSample;
    this.#restartSample = this.#startSample;
    this.#arrivals = new ArrivalTimes(this.#startSample);
    this.#segments = new TranscriptSegments(
      {
        language: resolved.config.engine.language,
        wordTimestamps: resolved.config.engine.wordTimestamps,
        interimResults: resolved.config.interimResults,
      },
      resolved.config.firstSegmentId,
    );
    this.#state = "opening";
    this.#open(resolved.config, resolved.config.startSample, true).catch((error: unknown) =>
      this.#internalError("opening the engine stream", error),
    );
    return true;
  }

  /** `announce`: a new session (session_started); else a released session reopening on resume. */
  async #open(config: ResolvedConfig, startSample: number, announce: boolean): Promise<void> {
    let stream: EngineStream;
    try {
      stream = await this.#engine.openStream({ ...config.engine, startSample });
    } catch (error) {
      this.#log.warn({ err: error }, "engine stream failed to open");
      this.#fail(engineErrorCode(error), error instanceof Error ? error.message : undefined);
      return;
    }
    if (this.#state !== "opening") {
      stream.close();
      return;
    }
    this.#stream = stream;
    this.#state = "streaming";
    if (announce) this.#announce(config);
    this.#pumpDone = this.#pump(stream);
    for (const pcm of this.#pending) stream.push(pcm);
    this.#pending = [];
    this.#pendingSamples = 0;
    this.#applyBackpressure();
    if (this.#finishRequested) this.finish();
    // Dropped again while the stream opened: the hold time starts now.
    if (!this.#connection) this.#holdDecoder();
  }

  #announce(config: ResolvedConfig): void {
    this.#connection?.send({
      type: "session_started",
      protocol_version: PROTOCOL_VERSION,
      session_id: this.id,
      config: {
        model: config.engine.model,
        language: config.engine.language,
        encoding: config.encoding,
        sample_rate: config.sampleRate,
        chunk_overlap_ms: config.overlapMs ?? "auto",
        start_sample: config.startSample,
        first_segment_id: config.firstSegmentId,
      },
      resume_token: this.resumeToken,
      resume_grace_ms: this.#limits.resumeGraceMs,
    });
  }

  /** A new connection takes this session over after a drop. */
  attach(connection: Connection, lastSegmentId: number): void {
    const previous = this.#connection;
    this.#connection = connection;
    if (previous && previous !== connection) previous.close(CloseCode.goingAway, "resumed elsewhere");
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    if (this.#state === "released") {
      this.#reopen(connection, lastSegmentId);
      return;
    }
    // The new connection's audio continues the stream, without an overlap prefix on its first chunk.
    this.#decoder?.newConnection();
    this.#log.info({ receivedSamples: this.#position, lastSegmentId }, "session resumed");
    connection.send({ type: "session_resumed", session_id: this.id, received_samples: this.#position });
    for (const final of this.#segments?.finalsAfter(lastSegmentId) ?? []) connection.redeliver(final);
    if (this.#drained) {
      this.#closeStream(connection);
      return;
    }
    this.#ack();
    this.#applyBackpressure();
  }

  /**
   * A released session resumed: a fresh engine stream (and wire decoder) starts at the end of the
   * last final, and the client replays its audio from there (`received_samples`), as it would for a
   * new session after `session_not_found`. The words after that final are decoded afresh.
   */
  #reopen(connection: Connection, lastSegmentId: number): void {
    const config = this.#config;
    if (!config) return;
    const from = this.#restartSample;
    this.#position = from;
    this.#ackedPosition = from;
    this.#arrivals = new ArrivalTimes(from);
    this.#usage = { audioMs: 0, processingMs: 0 };
    this.#decoder = createWireDecoder(config.encoding, config.overlapMs);
    this.#log.info({ receivedSamples: from, lastSegmentId }, "released session resumed in a fresh decoder");
    connection.send({ type: "session_resumed", session_id: this.id, received_samples: from });
    for (const final of this.#segments?.finalsAfter(lastSegmentId) ?? []) connection.redeliver(final);
    this.#state = "opening";
    this.#open(config, from, false).catch((error: unknown) =>
      this.#internalError("reopening the engine stream", error),
    );
  }

  /**
   * Give the engine stream back while waiting for a resume (see the class comment). Only a session
   * that is waiting and decoding (not one finishing after close_stream) releases; returns whether
   * it did.
   */
  releaseDecoder(reason: ReleaseReason): boolean {
    if (!this.waiting || (this.#state !== "opening" && this.#state !== "streaming")) return false;
    this.#log.info({ reason, restartSample: this.#restartSample }, "waiting session released its decoder");
    this.#state = "released";
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#closeEngineStream();
    this.#segments?.restartUtterance();
    this.#utteranceStartMs = undefined;
    this.#cutPending = false;
    this.#hooks.onReleased?.(this, reason);
    return true;
  }

  #holdDecoder(): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = setTimeout(
      () => this.#guard("releasing the decoder", () => this.releaseDecoder("hold_expired")),
      this.#limits.holdDecoderMs,
    );
    this.#holdTimer.unref();
  }

  /**
   * The connection went away. A drop keeps the session for a resume; so does a drop while the
   * session finishes after close_stream (its last finals are still owed). A close the client asked
   * for before configuring, or an error, ends it.
   */
  detach(connection: Connection, requested: boolean): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    if (this.#state === "closed" || this.#state === "finished") return;
    if (this.#state === "closing") {
      if (this.#drained) this.#awaitResume();
      return;
    }
    if (requested || this.#state === "idle") {
      this.#dispose();
      return;
    }
    this.#awaitResume();
  }

  /**
   * One audio message in the stream's encoding (binary, or the bytes of a hex chunk). Returns why it
   * is invalid (the message is then ignored: the position does not move), or undefined.
   */
  audio(bytes: Uint8Array, isHex: boolean): string | undefined {
    const decoder = this.#decoder;
    if (!this.configured || !decoder) return undefined;
    const decoded = decoder.decode(bytes, isHex);
    if (!decoded.ok) return decoded.message;
    const { pcm, positions } = decoded;
    this.#position += positions;
    this.#arrivals?.record(this.#position, performance.now());
    this.#hooks.metrics.audioReceived(positions);
    if (samplesToMs(this.#position - this.#startSample) > this.#limits.maxSessionMs) {
      this.#fail("session_too_long", `The stream passed ${this.#limits.maxSessionMs} ms of audio.`);
      return undefined;
    }
    if (this.#position - this.#ackedPosition >= ACK_EVERY_SAMPLES) this.#ack();
    this.#push(pcm);
    return undefined;
  }

  /** Decoded audio to the engine, or held while its stream opens. */
  #push(pcm: Int16Array): void {
    if (this.#stream) {
      this.#stream.push(pcm);
      this.#applyBackpressure();
      return;
    }
    this.#pending.push(pcm.slice());
    this.#pendingSamples += pcm.length;
    if (samplesToMs(this.#pendingSamples) > this.#limits.maxPendingMs) {
      this.#fail("engine_unavailable", "The engine did not start this stream in time.");
    }
  }

  finalize(): void {
    this.#stream?.flush();
  }

  /**
   * close_stream: flush, send the last finals, say so, close 1000. If the connection drops before
   * that, the session waits for a resume (grace period) to deliver the last finals and stream_closed.
   */
  finish(): void {
    this.#finish().catch((error: unknown) => this.#internalError("finishing the stream", error));
  }

  async #finish(): Promise<void> {
    this.#finishRequested = true;
    const stream = this.#stream;
    if (!stream || this.#state !== "streaming") return;
    this.#state = "closing";
    // What the decoder still holds (the G.711 resampler's look-ahead) is the end of the audio.
    const tail = this.#decoder?.flush();
    if (tail && tail.length > 0) stream.push(tail);
    await this.#drain(stream);
    this.#drained = true;
    if (this.#connection) this.#closeStream(this.#connection);
    else this.#awaitResume();
  }

  /**
   * Sends stream_closed and closes. The connection may drop before the client reads it, so the
   * session stays `finished` for the grace period: a resume then gets the missed finals and
   * stream_closed again instead of session_not_found (which would start the audio over).
   */
  #closeStream(connection: Connection): void {
    connection.send({ type: "stream_closed", audio_ms: samplesToMs(this.#position - this.#startSample) });
    connection.close(CloseCode.normal, "stream closed");
    if (this.#state !== "finished") {
      this.#release();
      this.#state = "finished";
    }
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(
      () => this.#guard("ending a finished session", () => this.#dispose()),
      this.#limits.resumeGraceMs,
    );
    this.#graceTimer.unref();
  }

  #awaitResume(): void {
    clearTimeout(this.#graceTimer);
    this.#waitingSince = performance.now();
    this.#log.info({ graceMs: this.#limits.resumeGraceMs }, "connection dropped; waiting for a resume");
    this.#graceTimer = setTimeout(() => {
      this.#log.info("resume grace period over");
      this.#guard("ending a session after its grace period", () => this.#dispose());
    }, this.#limits.resumeGraceMs);
    this.#graceTimer.unref();
    if (this.#state === "streaming") this.#holdDecoder();
    this.#hooks.onWaiting?.(this);
  }

  /** Server shutdown: send the finals the engine can still give (bounded), then ask for a reconnect. */
  async shutdown(timeoutMs: number): Promise<void> {
    const stream = this.#stream;
    if (stream && this.#state === "streaming") {
      this.#state = "closing";
      await Promise.race([this.#drain(stream), new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
    }
    if (this.#state !== "finished") this.#connection?.error("server_shutting_down");
    this.#dispose();
  }

  async #drain(stream: EngineStream): Promise<void> {
    try {
      await stream.end();
    } catch (error) {
      this.#log.warn({ err: error }, "engine stream failed to end");
    }
    // end() ends the event iteration, so the pump finishes once it has relayed the last final.
    await this.#pumpDone;
  }

  /**
   * Relays the engine's events until its stream ends. Never rejects: nothing awaits it but #drain,
   * so a rejection would be unhandled and end the process.
   */
  async #pump(stream: EngineStream): Promise<void> {
    try {
      for await (const event of stream) {
        // A stream given back (released) says nothing more, even if it had events queued.
        if (stream !== this.#stream || !this.#relay(event)) return;
      }
    } catch (error) {
      this.#relay({ type: "error", error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  /** False when relaying the event threw: a bug, which ends this session with internal_error. */
  #relay(event: EngineEvent): boolean {
    try {
      this.#onEngineEvent(event);
      return true;
    } catch (error) {
      this.#internalError(`relaying an engine ${event.type} event`, error);
      return false;
    }
  }

  /** Work run from a timer: a bug in it ends this session with internal_error, never the process. */
  #guard(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#internalError(what, error);
    }
  }

  /** A bug (logged with its stack): this session ends with internal_error; everything else goes on. */
  #internalError(what: string, error: unknown): void {
    this.#log.error({ err: error }, `${what} failed`);
    try {
      this.#fail("internal_error");
    } catch (failure) {
      this.#log.error({ err: failure }, "ending the session after that failed too");
    }
  }

  #onEngineEvent(event: EngineEvent): void {
    const segments = this.#segments;
    if (!segments) return;
    switch (event.type) {
      case "partial": {
        this.#cutIfTooLong(event.startMs, event.endMs);
        const partial = segments.partial(event);
        const connection = this.#connection;
        if (!partial || !connection) return;
        connection.send(partial.message);
        if (partial.first) this.#observeLatency(event.startMs, false);
        return;
      }
      case "final": {
        this.#utteranceStartMs = undefined;
        this.#cutPending = false;
        const final = segments.final(event);
        if (final)
          this.#restartSample = Math.min(this.#position, Math.max(this.#restartSample, msToSamples(final.end_ms)));
        const connection = this.#connection;
        if (!final || !connection) return;
        connection.send(final);
        this.#observeLatency(event.endMs, true);
        return;
      }
      case "endpoint": {
        const end = segments.endpoint(event.atMs);
        if (end) this.#connection?.send(end);
        return;
      }
      case "usage":
        this.#hooks.metrics.engineUsage(
          Math.max(0, event.audioMs - this.#usage.audioMs),
          Math.max(0, event.processingMs - this.#usage.processingMs),
        );
        this.#usage = { audioMs: event.audioMs, processingMs: event.processingMs };
        return;
      case "error":
        this.#log.error({ err: event.error }, "engine stream failed");
        this.#fail(engineErrorCode(event.error), event.error.message);
        return;
    }
  }

  /**
   * Ends an utterance that reached maxUtteranceMs (bounding partials and the decoder's work per
   * utterance). The flush lands where the audio pushed so far ends: when the engine is behind (a
   * file sent faster than real time), the forced final is longer by up to that backlog.
   */
  #cutIfTooLong(startMs: number, endMs: number): void {
    this.#utteranceStartMs ??= startMs;
    if (this.#cutPending || endMs - this.#utteranceStartMs < this.#limits.maxUtteranceMs) return;
    const stream = this.#stream;
    if (!stream) return;
    this.#cutPending = true;
    this.#hooks.metrics.forcedFinal();
    this.#log.debug({ startMs: this.#utteranceStartMs, endMs }, "utterance too long; forcing a final");
    stream.flush();
  }

  /**
   * A transcript just sent: how long after the audio at `atMs` arrived (`end_ms` of a final,
   * `start_ms` of an utterance's first partial). For a final, the audio up to its end: the last
   * sample before `end_ms`.
   */
  #observeLatency(atMs: number, final: boolean): void {
    const position = msToSamples(atMs) - (final ? 1 : 0);
    const arrived = this.#arrivals?.arrivalOf(Math.max(position, this.#startSample));
    if (arrived === undefined) return;
    const seconds = Math.max(0, performance.now() - arrived) / 1000;
    if (final) this.#hooks.metrics.finalLatency(seconds);
    else this.#hooks.metrics.firstPartialLatency(seconds);
  }

  #ack(): void {
    // Closing included: acks are the client's heartbeat while the engine drains after close_stream.
    if (this.#state === "idle" || this.#state === "closed") return;
    const connection = this.#connection;
    if (!connection) return;
    this.#ackedPosition = this.#position;
    this.#lastAckAt = Date.now();
    connection.send({ type: "ack", received_samples: this.#position });
  }

  /** Stop reading the client while the engine is far behind; read again once it has caught up. */
  #applyBackpressure(): void {
    const stream = this.#stream;
    const connection = this.#connection;
    if (!stream || !connection || this.#backlogTimer) return;
    if (stream.backlogMs <= this.#limits.maxEngineBacklogMs) return;
    connection.pause(true);
    const poll = () => {
      if (this.#state === "closed" || stream.backlogMs <= this.#limits.maxEngineBacklogMs / 2) {
        this.#backlogTimer = undefined;
        this.#connection?.pause(false);
        return;
      }
      this.#backlogTimer = setTimeout(() => this.#guard("the backlog check", poll), BACKLOG_POLL_MS);
    };
    this.#backlogTimer = setTimeout(() => this.#guard("the backlog check", poll), BACKLOG_POLL_MS);
  }

  /** An error that ends the stream for good (no resume). */
  #fail(code: ErrorCode, message?: string): void {
    if (this.#state === "closed") return;
    const connection = this.#connection;
    if (connection) {
      connection.error(code, message);
      if (!("close" in ERRORS[code])) connection.close(CloseCode.policyViolation, code);
    }
    this.#dispose();
  }

  #dispose(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#graceTimer);
    clearTimeout(this.#holdTimer);
    try {
      this.#release();
    } finally {
      // Forgotten even when giving the engine stream back failed: a closed session is never kept.
      this.#hooks.onClosed(this);
    }
  }

  /** Timers, pending audio and the engine stream: everything a finished session no longer needs. */
  #release(): void {
    clearTimeout(this.#wallClockTimer);
    clearInterval(this.#ackTimer);
    this.#closeEngineStream();
  }

  /** The engine stream, the wire decoder, the audio held for them and the backlog check. */
  #closeEngineStream(): void {
    clearTimeout(this.#backlogTimer);
    this.#backlogTimer = undefined;
    this.#pending = [];
    this.#pendingSamples = 0;
    this.#stream?.close();
    this.#stream = undefined;
    this.#decoder?.close();
    this.#decoder = undefined;
  }
}
