/**
 * The streams one decoding worker or host process serves, on the caller's side: opens waiting for
 * the far side's answer, open streams by id (to route its messages), and failing them all at once
 * when it dies.
 */
import type { RemoteStream } from "./remote-stream.js";

interface PendingOpen {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class RemoteStreams<S extends RemoteStream> {
  readonly #streams = new Map<number, S>();
  readonly #pendingOpens = new Map<number, PendingOpen>();

  /** Open streams plus opens not answered yet. */
  get count(): number {
    return this.#streams.size + this.#pendingOpens.size;
  }

  /** Opens not answered yet (streams with no load of their own yet). */
  get openingCount(): number {
    return this.#pendingOpens.size;
  }

  /** Open streams, for load figures. */
  values(): IterableIterator<S> {
    return this.#streams.values();
  }

  get maxBacklogMs(): number {
    let max = 0;
    for (const stream of this.#streams.values()) max = Math.max(max, stream.backlogMs);
    return max;
  }

  /** Sends the open (`send`) and resolves once the far side has answered `opened`. */
  open(stream: S, send: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pendingOpens.set(stream.id, {
        resolve: () => {
          this.#streams.set(stream.id, stream);
          resolve();
        },
        reject,
      });
      send();
    });
  }

  /** The far side's answer to an open: `error` when it refused. */
  answered(streamId: number, error?: Error): void {
    const pending = this.#pendingOpens.get(streamId);
    this.#pendingOpens.delete(streamId);
    if (error) pending?.reject(error);
    else pending?.resolve();
  }

  get(streamId: number): S | undefined {
    return this.#streams.get(streamId);
  }

  /** The far side has sent the stream's last event. */
  ended(streamId: number): void {
    this.#streams.get(streamId)?.ended();
    this.#streams.delete(streamId);
  }

  /** The stream is closed: route nothing more to it. */
  detach(streamId: number): void {
    this.#streams.delete(streamId);
  }

  /** The far side is gone: every open fails and every stream ends with `error`. */
  failAll(error: Error): void {
    for (const pending of this.#pendingOpens.values()) pending.reject(error);
    this.#pendingOpens.clear();
    for (const stream of this.#streams.values()) stream.fail(error);
    this.#streams.clear();
  }
}
