/**
 * One stream, fed by a connection and able to outlive it; its states and their moves are in
 * `session-states.ts`. When its connection drops without `close_stream`, the session keeps its
 * engine stream for a grace period and keeps the finals it produces; a new connection that presents
 * the resume token takes it over, is told where the audio stands, and gets the finals it missed,
 * once. After `stream_closed` the session stays `finished` (engine stream released) for the same
 * grace period, so a client whose connection dropped before `stream_closed` reached it can resume
 * and get it.
 *
 * A decoder is the costly part of a session (about 100 MB for PocketSphinx), so a waiting session
 * keeps its engine stream only briefly (`holdDecoderMs`), or less when the server needs the room
 * (`releaseDecoder`): it is then `released`, holding only its finals. A resume of a released session
 * opens a fresh engine stream at the end of its last final and has the client replay from there,
 * as a new session after a server restart does: finals stay complete and exactly-once.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Engine } from "@earshot/engines";
import {
  CloseCode,
  ERRORS,
  type ErrorCode,
  msToSamples,
  PROTOCOL_VERSION,
  type StreamConfig,
  samplesToMs,
} from "@earshot/protocol";
import type { Logger } from "pino";
import { engineErrorCode } from "./engine-error-code.js";
import { EngineLink } from "./engine-link.js";
import { AckClock, BacklogPause } from "./flow-control.js";
import { ResumeTimers } from "./resume-timers.js";
import type { ReleaseReason } from "./session-states.js";
import {
  ACKS_AUDIO,
  checkTransition,
  HOLDS_DECODER,
  type SessionState,
  SessionStateError,
  WAITS_FOR_RESUME,
} from "./session-states.js";
import type { SessionConnection, SessionLimits, SessionMetrics } from "./session-types.js";
import { announcedConfig, type ResolvedConfig, resolveConfig } from "./stream-config.js";
import { type RelayOutput, TranscriptRelay } from "./transcript-relay.js";
import { TranscriptSegments } from "./transcript-segments.js";

export type { ReleaseReason } from "./session-states.js";
export type { SessionConnection, SessionLimits } from "./session-types.js";

export interface SessionHooks {
  /** The session is over: forget its resume token. */
  onClosed(session: StreamSession): void;
  /** The connection dropped: the session now waits for a resume. */
  onWaiting?(session: StreamSession): void;
  /** A waiting session gave its engine stream back. */
  onReleased?(session: StreamSession, reason: ReleaseReason): void;
  readonly metrics: SessionMetrics;
}

export class StreamSession {
  readonly id = randomUUID();
  readonly resumeToken = `rt_${randomBytes(24).toString("base64url")}`;
  readonly #engine: Engine;
  readonly #limits: SessionLimits;
  readonly #log: Logger;
  readonly #hooks: SessionHooks;
  readonly #wallClockTimer: NodeJS.Timeout;
  readonly #acks: AckClock;
  readonly #backlog: BacklogPause;
  readonly #resume: ResumeTimers;
  readonly #relayOutput: RelayOutput;
  #state: SessionState = "idle";
  #connection: SessionConnection | undefined;
  #config: ResolvedConfig | undefined;
  #segments: TranscriptSegments | undefined;
  /** The engine stream being opened or held; a new link for each stream. */
  #link: EngineLink | undefined;
  #startSample = 0;
  /** Where a fresh engine stream would start: the end of the last final (or the session's start). */
  #restartSample = 0;
  /** Stream position after the last sample received. */
  #position = 0;

  constructor(connection: SessionConnection, engine: Engine, limits: SessionLimits, log: Logger, hooks: SessionHooks) {
    this.#connection = connection;
    this.#engine = engine;
    this.#limits = limits;
    this.#hooks = hooks;
    this.#log = log.child({ session: this.id });
    const guard = (what: string, work: () => void) => this.#guard(what, work);
    this.#acks = new AckClock(() => this.#ack(), guard);
    this.#backlog = new BacklogPause(limits.maxEngineBacklogMs, guard);
    this.#resume = new ResumeTimers(limits, guard);
    this.#relayOutput = {
      send: (message) => {
        this.#connection?.send(message);
        return this.#connection !== undefined;
      },
      flushEngine: () => this.#link?.flush(),
      finalMade: (final) => {
        const end = Math.max(this.#restartSample, msToSamples(final.end_ms));
        this.#restartSample = Math.min(this.#position, end);
      },
      engineFailed: (error) => {
        this.#log.error({ err: error }, "engine stream failed");
        this.#fail(engineErrorCode(error), error.message);
      },
    };
    this.#wallClockTimer = setTimeout(
      () => this.#guard("the session time limit", () => this.#fail("session_too_long")),
      limits.maxSessionMs,
    );
    this.#wallClockTimer.unref();
  }

  get state(): SessionState {
    return this.#state;
  }

  /** True once a config was accepted (audio may flow). */
  get configured(): boolean {
    return this.#state === "opening" || this.#state === "streaming";
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  /** Alive without a connection, waiting for a resume (a draining session goes on draining meanwhile). */
  get waiting(): boolean {
    return WAITS_FOR_RESUME.includes(this.#state) || (this.#state === "draining" && this.#connection === undefined);
  }

  /** When it started waiting (`performance.now()`); meaningful while `waiting`. */
  get waitingSince(): number {
    return this.#resume.waitingSince;
  }

  /** Waiting for a resume without an engine stream: a resume needs room for a new one. */
  get released(): boolean {
    return this.#state === "released";
  }

  /** Holds (or is opening) an engine stream: what counts against the server's and the key's streams. */
  get holdsDecoder(): boolean {
    return HOLDS_DECODER.includes(this.#state);
  }

  /** stream_closed was sent; the session is kept without an engine stream until its grace ends. */
  get finished(): boolean {
    return this.#state === "finished";
  }

  /** How far the engine is behind on this stream, in ms of audio. */
  get backlogMs(): number {
    return this.#link?.backlogMs ?? 0;
  }

  /** End a session that waits for a resume: its token stops working. */
  expire(): void {
    if (this.waiting) this.#dispose();
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
    const { engine, interimResults, firstSegmentId, startSample } = resolved.config;
    this.#config = resolved.config;
    this.#startSample = startSample;
    this.#segments = new TranscriptSegments(
      { language: engine.language, wordTimestamps: engine.wordTimestamps, interimResults },
      firstSegmentId,
    );
    this.#openEngineStream(startSample, true);
    return true;
  }

  /** A new connection takes this session over after a drop. */
  attach(connection: SessionConnection, lastSegmentId: number): void {
    if (this.#state === "idle" || this.#state === "closed") {
      throw new SessionStateError(`A session in state ${this.#state} cannot be resumed.`);
    }
    const previous = this.#connection;
    this.#connection = connection;
    if (previous && previous !== connection) previous.close(CloseCode.goingAway, "resumed elsewhere");
    this.#resume.stop();
    if (this.#state === "released") {
      // A fresh engine stream starts at the end of the last final; the client replays from there.
      const from = this.#restartSample;
      this.#log.info({ receivedSamples: from, lastSegmentId }, "released session resumed in a fresh decoder");
      this.#resumed(connection, from, lastSegmentId);
      this.#openEngineStream(from, false);
      return;
    }
    // The new connection's audio continues the stream, without an overlap prefix on its first chunk.
    this.#link?.decoder.newConnection();
    this.#log.info({ receivedSamples: this.#position, lastSegmentId }, "session resumed");
    this.#resumed(connection, this.#position, lastSegmentId);
    if (this.#state === "drained" || this.#state === "finished") {
      this.#closeStream(connection);
      return;
    }
    if (this.#state === "waiting") this.#transition(this.#link?.stream ? "streaming" : "opening");
    this.#ack();
    this.#applyBackpressure();
  }

  /**
   * Give the engine stream back while waiting for a resume (see the class comment). Only a session
   * that is waiting and decoding (not one finishing after close_stream) releases; returns whether
   * it did.
   */
  releaseDecoder(reason: ReleaseReason): boolean {
    if (this.#state !== "waiting") return false;
    this.#log.info({ reason, restartSample: this.#restartSample }, "waiting session released its decoder");
    this.#transition("released");
    this.#resume.stopHold();
    this.#closeEngineStream();
    this.#segments?.restartUtterance();
    this.#hooks.onReleased?.(this, reason);
    return true;
  }

  /**
   * The connection went away. A drop keeps the session for a resume; so does a drop while the
   * session drains after close_stream (its last finals are still owed). A close the client asked
   * for before configuring, or an error, ends it.
   */
  detach(connection: SessionConnection, requested: boolean): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    switch (this.#state) {
      case "idle":
        this.#dispose();
        return;
      case "opening":
      case "streaming":
        if (requested) {
          this.#dispose();
          return;
        }
        this.#transition("waiting");
        this.#awaitResume();
        return;
      case "draining":
        // The drain goes on; once it is over, the session waits for a resume (see #drainAndClose).
        this.#resume.markWaiting();
        return;
      default:
        // finished: nothing more is owed; closed: over.
        return;
    }
  }

  /**
   * One audio message in the stream's encoding (binary, or the bytes of a hex chunk). Returns why it
   * is invalid (the message is then ignored: the position does not move), or undefined.
   */
  audio(bytes: Uint8Array, isHex: boolean): string | undefined {
    const link = this.#link;
    if (!this.configured || !link) return undefined;
    const decoded = link.decoder.decode(bytes, isHex);
    if (!decoded.ok) return decoded.message;
    const { pcm, positions } = decoded;
    this.#position += positions;
    link.relay.arrived(this.#position);
    this.#hooks.metrics.audioReceived(positions);
    if (samplesToMs(this.#position - this.#startSample) > this.#limits.maxSessionMs) {
      this.#fail("session_too_long", `The stream passed ${this.#limits.maxSessionMs} ms of audio.`);
      return undefined;
    }
    if (this.#acks.due(this.#position)) this.#ack();
    if (!link.push(pcm)) this.#fail("engine_unavailable", "The engine did not start this stream in time.");
    else this.#applyBackpressure();
    return undefined;
  }

  finalize(): void {
    this.#link?.flush();
  }

  /**
   * close_stream: flush, send the last finals, say so, close 1000. If the connection drops before
   * that, the session waits for a resume (grace period) to deliver the last finals and stream_closed.
   */
  finish(): void {
    if (this.#state !== "opening" && this.#state !== "streaming") return;
    const opening = this.#state === "opening";
    this.#transition("draining");
    // While the stream opens, the drain starts once it is open (#opened).
    if (!opening) this.#drainAndClose();
  }

  /** Server shutdown: send the finals the engine can still give (bounded), then ask for a reconnect. */
  async shutdown(timeoutMs: number): Promise<void> {
    const link = this.#link;
    if (link && this.#state === "streaming") {
      this.#transition("draining");
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      try {
        await Promise.race([link.drain(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    if (this.#state !== "finished") this.#connection?.error("server_shutting_down");
    this.#dispose();
  }

  /** The one place the state changes: a move the table does not allow throws. */
  #transition(to: SessionState): void {
    const from = this.#state;
    this.#state = checkTransition(from, to);
    this.#log.debug({ from, to }, "session state");
  }

  /**
   * Opens an engine stream (and a wire decoder) starting at `from`: for a new session (`announce`:
   * session_started once open), or for a released one resumed. Audio is held until it opens.
   */
  #openEngineStream(from: number, announce: boolean): void {
    const config = this.#config;
    const segments = this.#segments;
    if (!config || !segments) throw new SessionStateError("An engine stream opened before the session had a config.");
    this.#transition("opening");
    this.#position = from;
    this.#restartSample = from;
    this.#acks.restart(from);
    const relayOptions = { maxUtteranceMs: this.#limits.maxUtteranceMs, metrics: this.#hooks.metrics, log: this.#log };
    const relay = new TranscriptRelay(segments, from, relayOptions, this.#relayOutput);
    this.#link = new EngineLink(this.#engine, config, from, relay, this.#limits.maxPendingMs, this.#log, {
      opened: () => this.#opened(config, announce),
      openFailed: (error) => this.#fail(engineErrorCode(error), error instanceof Error ? error.message : undefined),
      internalError: (what, error) => this.#internalError(what, error),
    });
  }

  #opened(config: ResolvedConfig, announce: boolean): void {
    if (announce) this.#announce(config);
    if (this.#state === "opening") {
      this.#transition("streaming");
      this.#applyBackpressure();
    } else if (this.#state === "waiting") {
      this.#holdDecoder(); // dropped while the stream opened: the hold time starts now
    } else if (this.#state === "draining") {
      this.#drainAndClose(); // close_stream came while the stream opened
    }
  }

  #announce(config: ResolvedConfig): void {
    this.#connection?.send({
      type: "session_started",
      protocol_version: PROTOCOL_VERSION,
      session_id: this.id,
      config: announcedConfig(config),
      resume_token: this.resumeToken,
      resume_grace_ms: this.#limits.resumeGraceMs,
    });
  }

  /** Tells a resumed connection where the audio stands and sends the finals it missed. */
  #resumed(connection: SessionConnection, receivedSamples: number, lastSegmentId: number): void {
    connection.send({ type: "session_resumed", session_id: this.id, received_samples: receivedSamples });
    for (const final of this.#segments?.finalsAfter(lastSegmentId) ?? []) connection.redeliver(final);
  }

  #holdDecoder(): void {
    this.#resume.holdDecoder(() => this.releaseDecoder("hold_expired"));
  }

  #awaitResume(): void {
    this.#resume.markWaiting();
    this.#log.info({ graceMs: this.#limits.resumeGraceMs }, "connection dropped; waiting for a resume");
    this.#endAfterGrace();
    if (this.#state === "waiting" && this.#link?.stream) this.#holdDecoder();
    this.#hooks.onWaiting?.(this);
  }

  /** Without a resume within the grace period, the session ends. */
  #endAfterGrace(): void {
    this.#resume.endAfterGrace(() => {
      this.#log.info("resume grace period over");
      this.#dispose();
    });
  }

  /** After close_stream: the engine's last finals go out, then stream_closed (now, or on a resume). */
  #drainAndClose(): void {
    const link = this.#link;
    if (!link) return;
    link
      .drain()
      .then(() => {
        if (this.#state !== "draining") return; // ended meanwhile: an error, or shutdown
        if (this.#connection) {
          this.#closeStream(this.#connection);
          return;
        }
        this.#transition("drained");
        this.#release();
        this.#awaitResume();
      })
      .catch((error: unknown) => this.#internalError("finishing the stream", error));
  }

  /**
   * Sends stream_closed and closes. The connection may drop before the client reads it, so the
   * session stays `finished` for the grace period: a resume then gets the missed finals and
   * stream_closed again instead of session_not_found (which would start the audio over).
   */
  #closeStream(connection: SessionConnection): void {
    connection.send({ type: "stream_closed", audio_ms: samplesToMs(this.#position - this.#startSample) });
    connection.close(CloseCode.normal, "stream closed");
    this.#endAfterGrace();
    if (this.#state === "finished") return;
    this.#transition("finished");
    this.#release();
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

  #ack(): void {
    const connection = this.#connection;
    if (!connection || !ACKS_AUDIO.includes(this.#state)) return;
    connection.send({ type: "ack", received_samples: this.#position });
    this.#acks.sent(this.#position);
  }

  #applyBackpressure(): void {
    const link = this.#link;
    if (link) this.#backlog.check(link, () => this.#connection);
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
    this.#transition("closed");
    this.#resume.stop();
    try {
      this.#release();
    } finally {
      // Forgotten even when giving the engine stream back failed: a closed session is never kept.
      this.#hooks.onClosed(this);
    }
  }

  /** Timers, pending audio and the engine stream: everything a drained session no longer needs. */
  #release(): void {
    clearTimeout(this.#wallClockTimer);
    this.#acks.stop();
    this.#closeEngineStream();
  }

  /** The engine stream (and its relay), the wire decoder, the audio held for them and the backlog check. */
  #closeEngineStream(): void {
    this.#backlog.stop();
    const link = this.#link;
    this.#link = undefined;
    link?.close();
  }
}
