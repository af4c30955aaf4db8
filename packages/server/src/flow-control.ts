/**
 * A session's flow control with its client: acks tell the client how much of its audio the server
 * has (so it can drop what it keeps for replay, and knows the server is alive), and reading stops
 * while the engine is far behind, so audio waits in the client rather than in the server.
 */
import { type AckMessage, SAMPLE_RATE } from "@earshot/protocol";
import type { StreamPosition } from "./stream-position.js";

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

/** What a session's flow control needs of it, as it is now. */
export interface FlowHost {
  /** The session's connection, if it has one. */
  connection(): { send(message: AckMessage): void; pause(paused: boolean): void } | undefined;
  /** Whether the session acks audio in its state (`acksAudio`). */
  acking(): boolean;
  /** The engine stream being opened or held, if any. */
  stream(): { readonly backlogMs: number } | undefined;
}

/** A session's acks and backlog pauses, for whichever connection and engine stream it has at the time. */
export class SessionFlow {
  readonly #host: FlowHost;
  readonly #position: StreamPosition;
  readonly #acks: AckClock;
  readonly #backlog: BacklogPause;

  constructor(host: FlowHost, position: StreamPosition, maxBacklogMs: number, guard: Guard) {
    this.#host = host;
    this.#position = position;
    this.#acks = new AckClock(() => this.ack(), guard);
    this.#backlog = new BacklogPause(maxBacklogMs, guard);
  }

  /** Acks the audio received so far, when the session has a connection and acks in its state. */
  ack(): void {
    const connection = this.#host.connection();
    if (!connection || !this.#host.acking()) return;
    const position = this.#position.received;
    connection.send({ type: "ack", received_samples: position });
    this.#acks.sent(position);
  }

  /** Audio arrived: an ack if one is due. */
  arrived(): void {
    if (this.#acks.due(this.#position.received)) this.ack();
  }

  /** Pauses reading the connection while the engine stream is too far behind (`BacklogPause`). */
  checkBacklog(): void {
    const stream = this.#host.stream();
    if (stream) this.#backlog.check(stream, () => this.#host.connection());
  }

  /** A connection took the stream over: it learns where the audio stands, and waits if the engine is behind. */
  connected(): void {
    this.ack();
    this.checkBacklog();
  }

  /** An engine stream (re)opens at `position`. */
  restart(position: number): void {
    this.#acks.restart(position);
  }

  /** The engine stream went back: nothing to poll. */
  stopBacklog(): void {
    this.#backlog.stop();
  }

  stop(): void {
    this.#acks.stop();
    this.#backlog.stop();
  }
}
