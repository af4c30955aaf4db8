/**
 * A session's flow control with its client: acks tell the client how much of its audio the server
 * has (so it can drop what it keeps for replay, and knows the server is alive), and reading stops
 * while the engine is far behind, so audio waits in the client rather than in the server.
 */
import { SAMPLE_RATE } from "@earshot/protocol";

/** Acks go out at least this often while audio flows (250 ms of audio)... */
const ACK_EVERY_SAMPLES = SAMPLE_RATE / 4;
/** ...and at least this often in any case, as a heartbeat. */
const ACK_INTERVAL_MS = 1000;
const BACKLOG_POLL_MS = 20;

/** Runs timer work so that a bug in it ends the session, never the process. */
export type Guard = (what: string, work: () => void) => void;

/** When acks are due: every `ACK_EVERY_SAMPLES` of audio, and at least every `ACK_INTERVAL_MS`. */
export class AckClock {
  readonly #heartbeat: NodeJS.Timeout;
  #ackedPosition = 0;
  #lastAckAt = 0;

  /** `ack`: send an ack now (when there is a connection to send it to). */
  constructor(ack: () => void, guard: Guard) {
    this.#heartbeat = setInterval(() => {
      guard("the ack heartbeat", () => {
        if (Date.now() - this.#lastAckAt >= ACK_INTERVAL_MS) ack();
      });
    }, ACK_INTERVAL_MS / 4);
    this.#heartbeat.unref();
  }

  /** Audio up to stream position `position` arrived: whether it calls for an ack. */
  due(position: number): boolean {
    return position - this.#ackedPosition >= ACK_EVERY_SAMPLES;
  }

  /** An ack of `position` went out. */
  sent(position: number): void {
    this.#ackedPosition = position;
    this.#lastAckAt = Date.now();
  }

  /** The stream position (re)starts at `position`: a new stream, or a reopened one. */
  restart(position: number): void {
    this.#ackedPosition = position;
  }

  stop(): void {
    clearInterval(this.#heartbeat);
  }
}

/** Stops reading a client while its engine stream is more than `maxBacklogMs` behind; reads again below half. */
export class BacklogPause {
  readonly #maxBacklogMs: number;
  readonly #guard: Guard;
  #timer: NodeJS.Timeout | undefined;

  constructor(maxBacklogMs: number, guard: Guard) {
    this.#maxBacklogMs = maxBacklogMs;
    this.#guard = guard;
  }

  /**
   * Audio reached `stream` (or a connection took it over): pause the connection if the engine is
   * too far behind, and poll until it has caught up. `connection()`: the connection at that time.
   */
  check(stream: { readonly backlogMs: number }, connection: () => { pause(paused: boolean): void } | undefined): void {
    const current = connection();
    if (!current || this.#timer || stream.backlogMs <= this.#maxBacklogMs) return;
    current.pause(true);
    const poll = (): void => {
      if (stream.backlogMs > this.#maxBacklogMs / 2) {
        this.#timer = setTimeout(() => this.#guard("the backlog check", poll), BACKLOG_POLL_MS);
        return;
      }
      this.#timer = undefined;
      connection()?.pause(false);
    };
    this.#timer = setTimeout(() => this.#guard("the backlog check", poll), BACKLOG_POLL_MS);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
