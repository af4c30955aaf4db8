/**
 * How a session (see `StreamSession`) ends. Asked to: close_stream drains the engine stream, sends
 * its last finals and stream_closed, and closes 1000; a server shutdown drains it within a bound
 * and asks the client to reconnect. A connection may drop before stream_closed reaches it, so the
 * session is kept for a resume that still gets it. Or not: an error, a bug, or the session time
 * limit ends it for good. Every state change goes through the session's own transition.
 */
import { CloseCode, ERRORS, type ErrorCode } from "@earshot/protocol";
import type { Logger } from "pino";
import type { Guard } from "./flow-control.js";
import type { SessionResume } from "./session-resume.js";
import type { SessionLifecycle } from "./session-states.js";
import type { SessionConnection, SessionLimits } from "./session-types.js";
import type { StreamPosition } from "./stream-position.js";

/** What the closing side needs of its session. */
export interface ClosingHost extends SessionLifecycle {
  readonly log: Logger;
  readonly position: StreamPosition;
  connection(): SessionConnection | undefined;
  /** Ends the engine stream (if open); resolves once its last final was relayed. */
  drain(): Promise<void>;
  /** Acks and the engine stream: everything a drained session no longer needs. */
  release(): void;
  /** The session is over: forget it (`SessionHooks.onClosed`). */
  closed(): void;
}

/** What the closing side needs of the resume side: a drained or finished session waits for a resume. */
export type ClosingResume = Pick<SessionResume, "awaitResume" | "endAfterGrace" | "stop">;

export class SessionClosing {
  readonly #session: ClosingHost;
  readonly #resume: ClosingResume;
  readonly #wallClockTimer: NodeJS.Timeout;

  constructor(session: ClosingHost, resume: ClosingResume, limits: Pick<SessionLimits, "maxSessionMs">, guard: Guard) {
    this.#session = session;
    this.#resume = resume;
    this.#wallClockTimer = setTimeout(
      () => guard("the session time limit", () => this.fail("session_too_long")),
      limits.maxSessionMs,
    );
    this.#wallClockTimer.unref();
  }

  /**
   * close_stream: flush, send the last finals, say so, close 1000. If the connection drops before
   * that, the session waits for a resume (grace period) to deliver the last finals and stream_closed.
   */
  finish(): void {
    const session = this.#session;
    if (session.state() !== "opening" && session.state() !== "streaming") return;
    const opening = session.state() === "opening";
    session.transition("draining");
    // While the stream opens, the drain starts once it is open (`StreamSession`'s #opened).
    if (!opening) this.drainAndClose();
  }

  /** Server shutdown: send the finals the engine can still give (bounded), then ask for a reconnect. */
  async shutdown(timeoutMs: number): Promise<void> {
    const session = this.#session;
    if (session.state() === "streaming") {
      session.transition("draining");
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      try {
        await Promise.race([session.drain(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    if (session.state() !== "finished") session.connection()?.error("server_shutting_down");
    this.dispose();
  }

  /** After close_stream: the engine's last finals go out, then stream_closed (now, or on a resume). */
  drainAndClose(): void {
    const session = this.#session;
    session
      .drain()
      .then(() => {
        if (session.state() !== "draining") return; // ended meanwhile: an error, or shutdown
        const connection = session.connection();
        if (connection) {
          this.closeStream(connection);
          return;
        }
        session.transition("drained");
        this.#release();
        this.#resume.awaitResume();
      })
      .catch((error: unknown) => this.internalError("finishing the stream", error));
  }

  /**
   * Sends stream_closed and closes. The connection may drop before the client reads it, so the
   * session stays `finished` for the grace period: a resume then gets the missed finals and
   * stream_closed again instead of session_not_found (which would start the audio over).
   */
  closeStream(connection: SessionConnection): void {
    const session = this.#session;
    connection.send({ type: "stream_closed", audio_ms: session.position.audioMs });
    connection.close(CloseCode.normal, "stream closed");
    this.#resume.endAfterGrace();
    if (session.state() === "finished") return;
    session.transition("finished");
    this.#release();
  }

  /** An error that ends the stream for good (no resume). */
  fail(code: ErrorCode, message?: string): void {
    if (this.#session.state() === "closed") return;
    const connection = this.#session.connection();
    if (connection) {
      connection.error(code, message);
      if (!("close" in ERRORS[code])) connection.close(CloseCode.policyViolation, code);
    }
    this.dispose();
  }

  /** A bug (logged with its stack): this session ends with internal_error; everything else goes on. */
  internalError(what: string, error: unknown): void {
    this.#session.log.error({ err: error }, `${what} failed`);
    try {
      this.fail("internal_error");
    } catch (failure) {
      this.#session.log.error({ err: failure }, "ending the session after that failed too");
    }
  }

  /** The session is over: its resume token stops working. */
  dispose(): void {
    const session = this.#session;
    if (session.state() === "closed") return;
    session.transition("closed");
    this.#resume.stop();
    try {
      this.#release();
    } finally {
      // Forgotten even when giving the engine stream back failed: a closed session is never kept.
      session.closed();
    }
  }

  /** Timers, pending audio and the engine stream: everything a drained session no longer needs. */
  #release(): void {
    clearTimeout(this.#wallClockTimer);
    this.#session.release();
  }
}
