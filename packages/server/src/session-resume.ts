/**
 * The resume side of a session (see `StreamSession`): its connection drops and it waits for a
 * resume within the grace period, keeping its decoder for the hold time at most; a new connection
 * that presents the resume token takes it over, is told where the audio stands, and gets the
 * finals it missed. Every state change goes through the session's own transition.
 *
 * A decoder is the costly part of a session (about 100 MB for PocketSphinx), so a waiting session
 * keeps its engine stream only briefly (`holdDecoderMs`), or less when the server needs the room
 * (`releaseDecoder`): it is then `released`, holding only its finals. A resume of a released session
 * opens a fresh engine stream at the end of its last final and has the client replay from there,
 * as a new session after a server restart does: finals stay complete and exactly-once.
 */
import { type CheckpointMessage, CloseCode, type TranscriptMessage } from "@earshot/protocol";
import type { Logger } from "pino";
import type { Guard } from "./flow-control.js";
import { ResumeTimers, type ResumeTimes } from "./resume-timers.js";
import { type ReleaseReason, type SessionLifecycle, SessionStateError } from "./session-states.js";
import type { SessionConnection } from "./session-types.js";
import type { StreamPosition } from "./stream-position.js";

/** What the resume side needs of its session. */
export interface ResumeHost extends SessionLifecycle {
  readonly id: string;
  readonly log: Logger;
  readonly position: StreamPosition;
  connection(): SessionConnection | undefined;
  /** The session is now `connection`'s (none: it was dropped). */
  connect(connection: SessionConnection | undefined): void;
  /** Whether the engine stream is open (not just opening). */
  streamOpen(): boolean;
  finalsAfter(lastSegmentId: number): readonly TranscriptMessage[];
  /** The last checkpoint sent (or that would have been), if the client keeps them. */
  checkpoint(): CheckpointMessage | undefined;
  /** The new connection's audio continues the stream, without an overlap prefix on its first chunk. */
  continueStream(): void;
  /** Opens a fresh engine stream at `from` (a released session resumed). */
  reopen(from: number): void;
  /** Gives the engine stream back; the utterance in progress is dropped with it. */
  releaseEngineStream(): void;
  /**
   * Asks the engine stream to give its decoder back and go on later (`EngineStream.suspend`);
   * false when the engine cannot, and the stream must be released.
   */
  suspendEngineStream(): boolean;
  /** stream_closed to a connection that resumed a drained or finished session. */
  closeStream(connection: SessionConnection): void;
  /** Acks and backpressure for a connection that took the stream over. */
  resumeFlow(): void;
  dispose(): void;
  /** The session now waits for a resume (`SessionHooks.onWaiting`). */
  waiting(): void;
  /** The session gave its engine stream back (`SessionHooks.onReleased`). */
  released(reason: ReleaseReason): void;
}

export class SessionResume {
  readonly #session: ResumeHost;
  readonly #timers: ResumeTimers;

  constructor(session: ResumeHost, times: ResumeTimes, guard: Guard) {
    this.#session = session;
    this.#timers = new ResumeTimers(times, guard);
  }

  /** When the connection dropped (`performance.now()`). */
  get waitingSince(): number {
    return this.#timers.waitingSince;
  }

  /** A new connection takes the session over after a drop. */
  attach(connection: SessionConnection, lastSegmentId: number): void {
    const session = this.#session;
    if (session.state() === "idle" || session.state() === "closed") {
      throw new SessionStateError(`A session in state ${session.state()} cannot be resumed.`);
    }
    const previous = session.connection();
    session.connect(connection);
    if (previous && previous !== connection) previous.close(CloseCode.goingAway, "resumed elsewhere");
    this.#timers.stop();
    if (session.state() === "released") {
      // A fresh engine stream starts at the end of the last final; the client replays from there.
      const from = session.position.restart;
      session.log.info({ receivedSamples: from, lastSegmentId }, "released session resumed in a fresh decoder");
      this.#resumed(connection, from, lastSegmentId);
      session.reopen(from);
      return;
    }
    session.continueStream();
    session.log.info({ receivedSamples: session.position.received, lastSegmentId }, "session resumed");
    this.#resumed(connection, session.position.received, lastSegmentId);
    if (session.state() === "drained" || session.state() === "finished") {
      session.closeStream(connection);
      return;
    }
    if (session.state() === "waiting") session.transition(session.streamOpen() ? "streaming" : "opening");
    session.resumeFlow();
  }

  /**
   * Give the engine stream back while waiting for a resume (see above). Only a session
   * that is waiting and decoding (not one finishing after close_stream) releases; returns whether
   * it did.
   */
  releaseDecoder(reason: ReleaseReason): boolean {
    const session = this.#session;
    if (session.state() !== "waiting") return false;
    if (session.suspendEngineStream()) {
      // The engine keeps the stream without a decoder: a resume continues it exactly.
      session.log.info({ reason }, "waiting session gave its decoder back; its engine stream goes on after a resume");
      this.#timers.stopHold();
      session.released(reason);
      return true;
    }
    session.log.info({ reason, restartSample: session.position.restart }, "waiting session released its decoder");
    session.transition("released");
    this.#timers.stopHold();
    session.releaseEngineStream();
    session.released(reason);
    return true;
  }

  /**
   * The connection went away. A drop keeps the session for a resume; so does a drop while the
   * session drains after close_stream (its last finals are still owed). A close the client asked
   * for before configuring, or an error, ends it.
   */
  detach(connection: SessionConnection, requested: boolean): void {
    const session = this.#session;
    if (connection !== session.connection()) return;
    session.connect(undefined);
    switch (session.state()) {
      case "idle":
        session.dispose();
        return;
      case "opening":
      case "streaming":
        if (requested) {
          session.dispose();
          return;
        }
        session.transition("waiting");
        this.awaitResume();
        return;
      case "draining":
        // The drain goes on; once it is over, the session waits for a resume (`SessionClosing`).
        this.#timers.markWaiting();
        return;
      default:
        // finished: nothing more is owed; closed: over.
        return;
    }
  }

  /** The connection is gone: the session ends unless a resume comes within the grace period. */
  awaitResume(): void {
    const session = this.#session;
    this.#timers.markWaiting();
    session.log.info({ graceMs: this.#timers.graceMs }, "connection dropped; waiting for a resume");
    this.endAfterGrace();
    if (session.state() === "waiting" && session.streamOpen()) this.holdDecoder();
    session.waiting();
  }

  /** Without a resume within the grace period (from now), the session ends. */
  endAfterGrace(): void {
    this.#timers.endAfterGrace(() => {
      this.#session.log.info("resume grace period over");
      this.#session.dispose();
    });
  }

  /** The decoder is given back once the hold time is over, unless a resume comes first. */
  holdDecoder(): void {
    this.#timers.holdDecoder(() => this.releaseDecoder("hold_expired"));
  }

  /** The session ended: no timer of its own may fire. */
  stop(): void {
    this.#timers.stop();
  }

  /** Tells a resumed connection where the audio stands and sends the finals it missed. */
  #resumed(connection: SessionConnection, receivedSamples: number, lastSegmentId: number): void {
    connection.send({ type: "session_resumed", session_id: this.#session.id, received_samples: receivedSamples });
    for (const final of this.#session.finalsAfter(lastSegmentId)) connection.redeliver(final);
    // The client may have missed it while away; it follows the finals it comes after.
    const checkpoint = this.#session.checkpoint();
    if (checkpoint) connection.send(checkpoint);
  }
}
