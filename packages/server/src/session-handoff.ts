/**
 * A session's move off a draining node (`node-drain.ts`). The session ends at its next utterance
 * end: after the final and, when its client keeps checkpoints, the checkpoint that follows it
 * (waited for a bounded time: not every final has one), so the client continues the stream exactly
 * on another node (from that checkpoint, or from the end of that final). A session between utterances moves at once; one still opening its engine stream
 * moves once it streams; one whose client asked to close (`close_stream`) ends as asked; one
 * waiting for a resume (no connection) or finished ends now, since its client must resume
 * elsewhere. At the drain's bound (`now()`) a session moves wherever it stands: its client replays
 * from its last final.
 *
 * Every check runs on a later turn of the event loop (`setImmediate`), never inside the event
 * that triggered it, so the final (and its `utterance_end`) that ends an utterance goes out first.
 */
import type { SessionState } from "./session-states.js";

/**
 * How long after a final a checkpoint may still come, while neither the engine stream nor any other
 * stream of its engine has shown one yet: an engine that makes them (PocketSphinx) sends one right
 * behind each final (from its decoding process: late by what a busy machine adds); one that does
 * not (the test engine) would keep the session waiting for nothing. After one final with no
 * checkpoint this soon the stream counts as one without them (until a checkpoint shows otherwise).
 */
export const CHECKPOINT_SETTLE_MS = 500;
/**
 * How long after a final a checkpoint is waited for from a stream that sends them. Not every final
 * has one (the VAD gate checkpoints at pauses, not after a client's `finalize` or a forced final):
 * a stream that then goes silent moves after this, not at the drain's bound.
 */
export const CHECKPOINT_WAIT_MS = 2_000;

/** What the hand-off reads of its session and asks of it. */
export interface HandOffHost {
  state(): SessionState;
  /** An utterance is in progress: the engine gave a partial since its last final. */
  inUtterance(): boolean;
  /** The client asked for checkpoints (`config.checkpoints`): it needs the one after the last final. */
  wantsCheckpoints(): boolean;
  /**
   * Streaming, between utterances: move now (a channel of a two-channel stream asks its pair first:
   * both channels must stand between utterances).
   */
  atBoundary(): void;
  /** Move now: tell the client (if it has one and is owed no stream_closed) and end the session. */
  move(): void;
}

/** Engines one of whose streams sent a checkpoint: their streams wait for one after each final. */
const checkpointingEngines = new WeakSet<object>();

export class SessionHandOff {
  readonly #host: HandOffHost;
  /** The engine the stream runs on (what `checkpointingEngines` knows it by). */
  readonly #engine: object;
  #requested = false;
  /** The drain's bound passed: move wherever the stream stands. */
  #now = false;
  /** A final went out and the checkpoint that follows it has not come yet. */
  #checkpointOwed = false;
  /**
   * Whether this engine stream sends a checkpoint after each final: true once one came, false once
   * a final had none within CHECKPOINT_SETTLE_MS, undefined before either.
   */
  #checkpoints: boolean | undefined;
  #settleTimer: NodeJS.Timeout | undefined;
  #scheduled: NodeJS.Immediate | undefined;

  constructor(host: HandOffHost, engine: object = host) {
    this.#host = host;
    this.#engine = engine;
  }

  get requested(): boolean {
    return this.#requested;
  }

  /** Streaming between utterances, with no checkpoint owed: the stream can move without a word cut. */
  get atBoundary(): boolean {
    return this.#host.state() === "streaming" && !this.#host.inUtterance() && !this.#checkpointOwed;
  }

  /** The node drains: move at the next utterance end. */
  request(): void {
    this.#requested = true;
    this.#schedule();
  }

  /** The drain's bound passed: move now. */
  now(): void {
    this.#requested = true;
    this.#now = true;
    this.#schedule();
  }

  /** A final was made (it goes out right after this). */
  finalMade(): void {
    // What the stream showed, else what its engine's other streams did.
    const sends = this.#checkpoints ?? (checkpointingEngines.has(this.#engine) ? true : undefined);
    if (this.#host.wantsCheckpoints() && sends !== false) {
      this.#checkpointOwed = true;
      clearTimeout(this.#settleTimer);
      const waitMs = sends ? CHECKPOINT_WAIT_MS : CHECKPOINT_SETTLE_MS;
      this.#settleTimer = setTimeout(() => this.#checkpointed(false), waitMs);
      this.#settleTimer.unref();
    }
    this.#schedule();
  }

  /** A checkpoint was made (after the final it follows). */
  checkpoint(): void {
    checkpointingEngines.add(this.#engine);
    this.#checkpointed(true);
  }

  /** The session changed state (opened, finished, dropped, closed): look again. */
  stateChanged(): void {
    this.#schedule();
  }

  /** A new engine stream (after a release): its checkpoints are its own. */
  restarted(): void {
    this.#checkpointOwed = false;
    this.#checkpoints = undefined;
    clearTimeout(this.#settleTimer);
  }

  stop(): void {
    clearTimeout(this.#settleTimer);
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }

  /** `came`: a checkpoint came (else the wait passed without one: a stream that sent one still does). */
  #checkpointed(came: boolean): void {
    clearTimeout(this.#settleTimer);
    if (came) this.#checkpoints = true;
    // None within the wait, from a stream of an engine that never showed one: it sends none.
    else if (this.#checkpoints === undefined && !checkpointingEngines.has(this.#engine)) this.#checkpoints = false;
    this.#checkpointOwed = false;
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#requested || this.#scheduled) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.#check();
    });
  }

  #check(): void {
    const host = this.#host;
    switch (host.state()) {
      case "closed":
        this.stop();
        return;
      case "idle":
      case "opening":
      // Its client has no session_started yet: it moves once it streams (or at the bound).
      case "draining":
        // close_stream: its last finals and stream_closed are on their way (or, at the bound, not).
        if (this.#now) host.move();
        return;
      case "streaming":
        if (this.#now) host.move();
        else if (this.atBoundary) host.atBoundary();
        return;
      default:
        // waiting, released, drained, finished: no client to tell, or none owed anything.
        host.move();
    }
  }
}
