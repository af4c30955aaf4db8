/**
 * One stream, fed by a connection and able to outlive it; its states and their moves are in
 * `session-states.ts`. When its connection drops without `close_stream`, the session keeps its
 * engine stream for a grace period and keeps the finals it produces; a new connection that presents
 * the resume token takes it over, is told where the audio stands, and gets the finals it missed,
 * once. After `stream_closed` the session stays `finished` (engine stream released) for the same
 * grace period, so a client whose connection dropped before `stream_closed` reached it can resume
 * and get it.
 *
 * The session wires the stream; its collaborators see it through small host interfaces: the resume
 * side (`session-resume.ts`: drops, resumes, decoder release), the closing side (`session-closing.ts`:
 * close_stream, shutdown, errors), flow control (`flow-control.ts`: acks, backlog pauses) and the
 * stream position (`stream-position.ts`). Every state change goes through its one `#transition`.
 */
import type { Engine } from "@earshot/engines";
import {
  type CheckpointMessage,
  CloseCode,
  MAX_RESUME_STATE_CHARS,
  PROTOCOL_VERSION,
  type ServerMessage,
  type StreamConfig,
  samplesToMs,
} from "@earshot/protocol";
import type { Logger } from "pino";
import type { ClientSession } from "./client-session.js";
import { engineErrorCode } from "./engine-error-code.js";
import { EngineLink } from "./engine-link.js";
import { SessionFlow } from "./flow-control.js";
import { type ClosingHost, SessionClosing } from "./session-closing.js";
import { SessionHandOff } from "./session-handoff.js";
import { newSessionIdentity, type SessionIdentity } from "./session-identity.js";
import { type ResumeHost, SessionResume } from "./session-resume.js";
import {
  acksAudio,
  checkTransition,
  holdsDecoder,
  isConfigured,
  isWaiting,
  type ReleaseReason,
  type SessionState,
  SessionStateError,
} from "./session-states.js";
import type { SessionConnection, SessionLimits, SessionMetrics } from "./session-types.js";
import {
  type AudioSource,
  announcedConfig,
  DEFAULT_STREAM_DEFAULTS,
  encodeResumeState,
  type ResolvedConfig,
  resolveConfig,
  type StreamDefaults,
} from "./stream-config.js";
import { StreamPosition } from "./stream-position.js";
import { type RelayOutput, TranscriptRelay } from "./transcript-relay.js";
import { TranscriptSegments } from "./transcript-segments.js";

export type { ReleaseReason } from "./session-states.js";
export type { SessionConnection, SessionLimits } from "./session-types.js";

/** How often a session that holds finals back for redaction checks whether to release them. */
const HELD_FINALS_TICK_MS = 250;
const DRAINING_MESSAGE =
  "This node is draining: continue the stream on another node (resume, or from your last checkpoint).";

export interface SessionHooks {
  /** The session is over: forget its resume token. */
  onClosed(session: ClientSession): void;
  /** The connection dropped: the session now waits for a resume. */
  onWaiting?(session: ClientSession): void;
  /** A waiting session gave its engine stream back (a two-channel one: once per channel). */
  onReleased?(session: ClientSession, reason: ReleaseReason): void;
  /**
   * The session got its config, made a final, or sent a checkpoint (`checkpoint`, for clients that
   * keep them): cluster session records, see `progress`.
   */
  onProgress?(session: StreamSession, checkpoint?: CheckpointMessage): void;
  readonly metrics: SessionMetrics;
}

export class StreamSession implements ClientSession {
  readonly id: string;
  /** One channel; a two-channel stream is a `TwoChannelSession` of two of these. */
  readonly channels = 1;
  readonly resumeToken: string;
  readonly #engine: Engine;
  readonly #limits: SessionLimits;
  readonly #defaults: StreamDefaults;
  readonly #log: Logger;
  readonly #hooks: SessionHooks;
  readonly #flow: SessionFlow;
  readonly #resume: SessionResume;
  readonly #closing: SessionClosing;
  /** Moves the stream off a draining node at its next utterance end. */
  readonly #handOff: SessionHandOff;
  readonly #relayOutput: RelayOutput;
  #state: SessionState = "idle";
  #connection: SessionConnection | undefined;
  #config: ResolvedConfig | undefined;
  /** The config as the client sent it (validated): what a cluster session record keeps. */
  #sentConfig: StreamConfig | undefined;
  #segments: TranscriptSegments | undefined;
  /** The engine stream being opened or held; a new link for each stream. */
  #link: EngineLink | undefined;
  /** Waiting with its engine stream suspended (no decoder held) until a resume. */
  #suspended = false;
  /** The engine stream's last checkpoint, for clients that asked for them (re-sent on a resume). */
  #checkpoint: CheckpointMessage | undefined;
  /** Checkpoints of the current engine stream not sent yet (queued behind finals held for redaction). */
  readonly #queuedCheckpoints = new Set<CheckpointMessage>();
  /** Releases finals held for redaction once no speech followed them; while redaction is on. */
  #heldFinalsTimer: NodeJS.Timeout | undefined;
  readonly #position = new StreamPosition();
  /** What a hand-off does between utterances instead of moving (`handOff`). */
  #atHandOffBoundary: (() => void) | undefined;

  constructor(
    connection: SessionConnection,
    engine: Engine,
    limits: SessionLimits,
    log: Logger,
    hooks: SessionHooks,
    defaults: StreamDefaults = DEFAULT_STREAM_DEFAULTS,
    identity: SessionIdentity = newSessionIdentity(),
  ) {
    this.id = identity.id;
    this.resumeToken = identity.resumeToken;
    this.#connection = connection;
    this.#engine = engine;
    this.#limits = limits;
    this.#defaults = defaults;
    this.#hooks = hooks;
    this.#log = log.child({ session: this.id });
    const guard = (what: string, work: () => void) => this.#guard(what, work);
    const flow = { connection: () => this.#connection, acking: () => acksAudio(this.#state), stream: () => this.#link };
    this.#flow = new SessionFlow(flow, this.#position, limits.maxEngineBacklogMs, guard);
    const host = this.#host();
    this.#resume = new SessionResume(host, limits, guard);
    this.#closing = new SessionClosing(host, this.#resume, limits, guard);
    this.#handOff = new SessionHandOff(
      {
        state: () => this.#state,
        inUtterance: () => this.#link?.relay.inUtterance ?? false,
        wantsCheckpoints: () => this.#config?.checkpoints ?? false,
        atBoundary: () => (this.#atHandOffBoundary ?? (() => this.moveAway()))(),
        move: () => this.moveAway(),
      },
      engine,
    );
    this.#relayOutput = {
      send: (message) => this.#deliver(message),
      flushEngine: () => this.#link?.flush(),
      finalMade: (final) => {
        this.#position.finalEndsAt(final.end_ms);
        this.#hooks.onProgress?.(this);
        this.#handOff.finalMade();
      },
      engineFailed: (error) => {
        this.#log.error({ err: error }, "engine stream failed");
        this.#closing.fail(engineErrorCode(error), error.message);
      },
      checkpoint: (atSample, state) => {
        this.#checkpointed(atSample, state);
        this.#handOff.checkpoint();
      },
    };
  }

  get state(): SessionState {
    return this.#state;
  }

  /** True once a config was accepted (audio may flow). */
  get configured(): boolean {
    return isConfigured(this.#state);
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  /** Alive without a connection, waiting for a resume (a draining session goes on draining meanwhile). */
  get waiting(): boolean {
    return isWaiting(this.#state, this.#connection !== undefined);
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
    return holdsDecoder(this.#state) && !this.#suspended;
  }

  /** 1 while it holds (or opens) an engine stream: `ClientSession`'s count. */
  get decodersHeld(): number {
    return this.holdsDecoder ? 1 : 0;
  }

  /** 1 when a resume must open a fresh engine stream (`released`). */
  get decodersToReopen(): number {
    return this.released ? 1 : 0;
  }

  /** Stream position after the last sample received. */
  get receivedSamples(): number {
    return this.#position.received;
  }

  /** stream_closed was sent; the session is kept without an engine stream until its grace ends. */
  get finished(): boolean {
    return this.#state === "finished";
  }

  /**
   * The config the client sent (without `resume_state`: it served the start only), the last final's
   * segment id and where it ended; undefined before a config.
   */
  get progress(): { config: StreamConfig; lastSegmentId: number; lastFinalEndMs: number } | undefined {
    if (this.#sentConfig === undefined || this.#segments === undefined) return undefined;
    const config = { ...this.#sentConfig };
    delete config.resume_state;
    const lastFinalEndMs = samplesToMs(this.#position.restart);
    return { config, lastSegmentId: this.#segments.lastFinalId, lastFinalEndMs };
  }

  /** How far the engine is behind on this stream, in ms of audio. */
  get backlogMs(): number {
    return this.#link?.backlogMs ?? 0;
  }

  /** End a session that waits for a resume: its token stops working. */
  expire(): void {
    if (this.waiting) this.#closing.dispose();
  }

  /** Another node took the session over: it ends here, and a connection it still has is closed as a resume elsewhere closes it. */
  takenOver(): void {
    this.#connection?.close(CloseCode.goingAway, "resumed elsewhere");
    this.#closing.dispose();
  }

  /** End the session for good, whatever its state, without telling its connection (its channel pair ended). */
  dispose(): void {
    this.#closing.dispose();
  }

  /**
   * Validates the config (errors go to the connection) and starts opening the engine stream;
   * `source`: what an adapter knows of the audio beyond the config (stream-config.ts).
   */
  configure(config: StreamConfig, source?: AudioSource): boolean {
    return this.#configure(config, source, true);
  }

  /**
   * Continues a session another node held (resume on any node, `cluster/session-takeover.ts`):
   * `config` is the client's, positioned where the stream continues (`start_sample`,
   * `first_segment_id`, and `resume_state` for an exact continuation). Answers `session_resumed`
   * with `received_samples` = that position (the client replays from it) instead of `session_started`.
   */
  continueMoved(config: StreamConfig): boolean {
    if (!this.#configure(config, undefined, false)) return false;
    const receivedSamples = config.start_sample ?? 0;
    this.#connection?.send({
      type: "session_resumed",
      session_id: this.id,
      received_samples: receivedSamples,
      moved: true,
    });
    return true;
  }

  #configure(config: StreamConfig, source: AudioSource | undefined, announce: boolean): boolean {
    if (!this.#engine.ready) {
      this.#closing.fail("engine_unavailable", `The ${this.#engine.name} engine is not loaded.`);
      return false;
    }
    const resolved = resolveConfig(config, this.#engine, this.#defaults, source);
    if (!resolved.ok) {
      this.#connection?.error(resolved.code, resolved.message);
      this.#closing.dispose();
      return false;
    }
    const { engine, interimResults, firstSegmentId, startSample, text } = resolved.config;
    this.#config = resolved.config;
    this.#position.startAt(startSample);
    const segments = new TranscriptSegments(
      { language: engine.language, wordTimestamps: engine.wordTimestamps, interimResults, text },
      firstSegmentId,
    );
    this.#segments = segments;
    if (text.redact.length > 0) {
      // Audio held while an engine stream opens is not decoded yet: no progress then.
      const decodedMs = () => (this.#link?.stream ? samplesToMs(this.#position.received) - this.backlogMs : 0);
      const tick = () => this.#deliverAll(segments.tick(decodedMs(), this.#connection !== undefined));
      this.#heldFinalsTimer = setInterval(() => this.#guard("releasing held finals", tick), HELD_FINALS_TICK_MS);
      this.#heldFinalsTimer.unref();
    }
    this.#sentConfig = config;
    this.#openEngineStream(startSample, announce);
    this.#hooks.onProgress?.(this);
    return true;
  }

  /** A new connection takes this session over after a drop. */
  attach(connection: SessionConnection, lastSegmentId: number): void {
    this.#resume.attach(connection, lastSegmentId);
  }

  /** `ClientSession`'s resume: one channel, one last segment id. */
  resume(connection: SessionConnection, lastSegmentIds: readonly number[]): void {
    this.attach(connection, lastSegmentIds[0] ?? -1);
  }

  /** Give the engine stream back while waiting for a resume; returns whether it did (`SessionResume`). */
  releaseDecoder(reason: ReleaseReason): boolean {
    return this.#resume.releaseDecoder(reason);
  }

  /** The connection went away: the session waits for a resume, or ends (`SessionResume`). */
  detach(connection: SessionConnection, requested: boolean): void {
    this.#resume.detach(connection, requested);
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
    const position = this.#position.advance(positions);
    link.relay.arrived(position);
    this.#hooks.metrics.audioReceived(positions);
    if (this.#position.audioMs > this.#limits.maxSessionMs) {
      this.#closing.fail("session_too_long", `The stream passed ${this.#limits.maxSessionMs} ms of audio.`);
      return undefined;
    }
    this.#flow.arrived();
    if (!link.push(pcm)) this.#closing.fail("engine_unavailable", "The engine did not start this stream in time.");
    else this.#flow.checkBacklog();
    return undefined;
  }

  finalize(): void {
    this.#link?.flush();
  }

  /** close_stream: the last finals, stream_closed, close 1000 (now, or on a resume; `SessionClosing`). */
  finish(): void {
    this.#closing.finish();
  }

  /** Server shutdown: send the finals the engine can still give (bounded), then ask for a reconnect. */
  async shutdown(timeoutMs: number): Promise<void> {
    await this.#closing.shutdown(timeoutMs);
  }

  /**
   * The node drains: move the stream away at its next utterance end (`SessionHandOff`).
   * `atBoundary`: what to do there instead of moving (a two-channel stream waits for both channels).
   */
  handOff(atBoundary?: () => void): void {
    this.#atHandOffBoundary = atBoundary;
    this.#handOff.request();
  }

  /** The drain's bound passed: move the stream now, mid-utterance if need be (the client replays from its last final). */
  handOffNow(): void {
    this.#handOff.now();
  }

  /** Streaming between utterances, no checkpoint owed: it can move without cutting a word. */
  get atHandOffBoundary(): boolean {
    return this.#handOff.atBoundary;
  }

  /**
   * Moves the stream off this node now: finals held for redaction go out (the next words are
   * decoded elsewhere), the cluster record is written one last time, the client is told `draining`
   * (close 1012) unless it is owed only stream_closed, and the session ends: it does not wait for a
   * resume here.
   */
  moveAway(): void {
    if (this.#state === "closed") return;
    const told = this.#connection !== undefined && this.#state !== "finished";
    this.#log.info(
      { state: this.#state, told, receivedSamples: this.#position.received },
      "moving off the draining node",
    );
    if (told) this.#deliverAll(this.#segments?.flush() ?? []);
    this.#hooks.onProgress?.(this);
    if (told) this.#closing.fail("draining", DRAINING_MESSAGE);
    else this.#closing.dispose();
  }

  /** The engine stream can be continued from `atSample`: tell a client that keeps checkpoints. */
  #checkpointed(atSample: number, state: unknown): void {
    if (!this.#config?.checkpoints || !this.#segments) return;
    const encoded = encodeResumeState(state);
    if (encoded.length > MAX_RESUME_STATE_CHARS) {
      this.#log.warn({ chars: encoded.length }, "checkpoint state too large for resume_state; not sent");
      return;
    }
    const message: CheckpointMessage = {
      type: "checkpoint",
      sample: atSample,
      state: encoded,
      last_segment_id: this.#segments.lastFinalId,
    };
    // It follows its final: held back with it when that final is (redaction).
    this.#queuedCheckpoints.add(message);
    this.#deliverAll(this.#segments.after(message));
  }

  /**
   * Sends a message of the stream (if connected; finals are kept for a resume either way) and
   * returns whether it went out. A checkpoint becomes the one re-sent on a resume, unless its engine
   * stream was released while it waited behind held finals.
   */
  #deliver(message: ServerMessage): boolean {
    if (message.type === "checkpoint") {
      if (!this.#queuedCheckpoints.delete(message)) return false;
      this.#checkpoint = message;
      this.#hooks.onProgress?.(this, message);
    }
    this.#connection?.send(message);
    return this.#connection !== undefined;
  }

  #deliverAll(messages: readonly ServerMessage[]): void {
    for (const message of messages) this.#deliver(message);
  }

  /** The one place the state changes: a move the table does not allow throws. */
  #transition(to: SessionState): void {
    const from = this.#state;
    this.#state = checkTransition(from, to);
    this.#log.debug({ from, to }, "session state");
    this.#handOff.stateChanged();
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
    this.#position.openAt(from);
    this.#flow.restart(from);
    const relayOptions = { maxUtteranceMs: this.#limits.maxUtteranceMs, metrics: this.#hooks.metrics, log: this.#log };
    const relay = new TranscriptRelay(segments, from, relayOptions, this.#relayOutput);
    this.#link = new EngineLink(this.#engine, config, from, relay, this.#limits.maxPendingMs, this.#log, {
      opened: () => this.#opened(config, announce),
      openFailed: (error) =>
        this.#closing.fail(engineErrorCode(error), error instanceof Error ? error.message : undefined),
      internalError: (what, error) => this.#closing.internalError(what, error),
    });
  }

  #opened(config: ResolvedConfig, announce: boolean): void {
    if (announce) this.#announce(config);
    if (this.#state === "opening") {
      this.#transition("streaming");
      this.#flow.checkBacklog();
    } else if (this.#state === "waiting") {
      this.#resume.holdDecoder(); // dropped while the stream opened: the hold time starts now
    } else if (this.#state === "draining") {
      this.#closing.drainAndClose(); // close_stream came while the stream opened
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

  /** What the resume and closing sides see of this session. */
  #host(): ResumeHost & ClosingHost {
    return {
      id: this.id,
      log: this.#log,
      position: this.#position,
      state: () => this.#state,
      transition: (to) => this.#transition(to),
      connection: () => this.#connection,
      connect: (connection) => {
        this.#connection = connection;
      },
      streamOpen: () => this.#link?.stream !== undefined,
      finalsAfter: (lastSegmentId) => this.#segments?.finalsAfter(lastSegmentId) ?? [],
      checkpoint: () => this.#checkpoint,
      continueStream: () => {
        this.#suspended = false;
        this.#link?.decoder.newConnection();
      },
      suspendEngineStream: () => {
        this.#suspended = this.#link?.suspend() ?? false;
        return this.#suspended;
      },
      reopen: (from) => this.#openEngineStream(from, false),
      releaseEngineStream: () => {
        // The fresh stream that follows departs from the old one: its checkpoints no longer apply.
        this.#checkpoint = undefined;
        this.#queuedCheckpoints.clear();
        this.#handOff.restarted();
        this.#closeEngineStream();
        this.#segments?.restartUtterance();
      },
      closeStream: (connection) => this.#closing.closeStream(connection),
      resumeFlow: () => this.#flow.connected(),
      drain: async () => {
        await this.#link?.drain();
        // The stream ended: nothing can continue a number in a held final now.
        this.#deliverAll(this.#segments?.flush() ?? []);
      },
      release: () => this.#release(),
      dispose: () => this.#closing.dispose(),
      closed: () => this.#hooks.onClosed(this),
      waiting: () => this.#hooks.onWaiting?.(this),
      released: (reason) => this.#hooks.onReleased?.(this, reason),
    };
  }

  /** Work run from a timer: a bug in it ends this session with internal_error, never the process. */
  #guard(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#closing.internalError(what, error);
    }
  }

  /** Acks, pending audio and the engine stream: everything a drained session no longer needs. */
  #release(): void {
    clearInterval(this.#heldFinalsTimer);
    this.#flow.stop();
    this.#closeEngineStream();
  }

  /** The engine stream (and its relay), the wire decoder, the audio held for them and the backlog check. */
  #closeEngineStream(): void {
    this.#flow.stopBacklog();
    const link = this.#link;
    this.#link = undefined;
    link?.close();
  }
}
