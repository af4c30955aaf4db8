/**
 * How long close() waits for the last finals: it gives up after `timeoutMs` without progress. Every
 * final, and every ack of more audio than any before, starts the wait again, so a long backlog that
 * is being worked through is not cut off; an ack of nothing new (the idle heartbeat) does not.
 */
import { EarshotClientError } from "./errors.js";

export class CloseDeadline {
  readonly timeoutMs: number;
  readonly #expired: (error: EarshotClientError) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The highest `received_samples` acked, so an ack of new audio is told from a heartbeat. */
  #ackedSamples = 0;

  /** `expired` gets a `close_timeout` error. */
  constructor(timeoutMs: number, expired: (error: EarshotClientError) => void) {
    this.timeoutMs = timeoutMs;
    this.#expired = expired;
  }

  /** close() was called: the wait begins. */
  start(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#expired(
        new EarshotClientError("close_timeout", `No progress towards stream_closed for ${this.timeoutMs} ms.`),
      );
    }, this.timeoutMs);
  }

  /** A final arrived. */
  final(): void {
    if (this.#timer !== undefined) this.start();
  }

  /** An ack arrived (acks count from before close(), so that the first after it is judged right). */
  acked(receivedSamples: number): void {
    if (this.#timer !== undefined && receivedSamples > this.#ackedSamples) this.start();
    this.#ackedSamples = Math.max(this.#ackedSamples, receivedSamples);
  }

  /** The stream ended: no more waiting, whatever arrives. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
