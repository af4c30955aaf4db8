/**
 * The caller's handle on one far side (a worker thread, a child process) that decodes many
 * streams: opens them there, routes its replies to them, and turns its death into an error event
 * on every one of them. A subclass brings the transport (how a message is sent, how the far side
 * is asked to stop, when it has exited) and its own messages, such as load figures.
 */

import { EngineUnavailableError } from "./contract.js";
import type { StartReply } from "./host-start.js";
import type { RemoteStream, StreamTransport } from "./remote-stream.js";
import { RemoteStreams } from "./remote-streams.js";

/** What the caller sends for one open stream, besides its audio (whose form is the transport's). */
export type StreamRequest =
  /** `pauseAtMs` (from the stream's first sample): the caller detected a pause there; see `EngineStream.flush`. */
  | { readonly type: "flush"; readonly streamId: number; readonly pauseAtMs?: number }
  | { readonly type: "end"; readonly streamId: number }
  | { readonly type: "close"; readonly streamId: number };

/** What the far side answers for one stream; `E` is an event as it crosses the boundary. */
export type StreamReply<E> =
  | { readonly type: "opened"; readonly streamId: number }
  | { readonly type: "open-failed"; readonly streamId: number; readonly message: string }
  | { readonly type: "event"; readonly streamId: number; readonly event: E }
  /** After `end`: every event of the stream has been sent. */
  | { readonly type: "ended"; readonly streamId: number };

/** The event a stream of type `S` receives from the far side. */
type EventOf<S extends RemoteStream> = Parameters<S["receive"]>[0];

export interface RemoteHostNames {
  /** The engine, in errors: "pocketsphinx". */
  readonly engine: string;
  /** One far side, in errors: "pocketsphinx worker". */
  readonly host: string;
}

/** What a stream needs of its host: a transport for its own requests, and a way to send its audio. */
export interface StreamHost<Out> {
  post(message: Out | StreamRequest, transfer?: ArrayBuffer[]): void;
  streamTransport(streamId: number, push: (pcm: Int16Array) => void): StreamTransport;
}

export abstract class RemoteHost<S extends RemoteStream, Out> implements StreamHost<Out> {
  readonly #names: RemoteHostNames;
  readonly #streams = new RemoteStreams<S>();
  readonly #exited: Promise<void>;
  readonly #onCrash: () => void;
  #alive = true;

  /** `exited` resolves once the far side is gone; `onCrash` is told when it dies on its own. */
  protected constructor(names: RemoteHostNames, exited: Promise<void>, onCrash: () => void) {
    this.#names = names;
    this.#exited = exited;
    this.#onCrash = onCrash;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Open streams plus opens not answered yet. */
  get streamCount(): number {
    return this.#streams.count;
  }

  /** Streams still opening (no load of their own yet). */
  get openingCount(): number {
    return this.#streams.openingCount;
  }

  /** The largest backlog among the open streams, in ms. */
  get maxBacklogMs(): number {
    return this.#streams.maxBacklogMs;
  }

  /** Sends `request` and resolves once the far side has opened the stream. */
  open(stream: S, request: Out): Promise<void> {
    if (!this.#alive) return Promise.reject(new EngineUnavailableError(`${this.#names.host} is not running`));
    return this.#streams.open(stream, () => this.post(request));
  }

  /** Sends a message unless the far side is gone. */
  post(message: Out | StreamRequest, transfer?: ArrayBuffer[]): void {
    if (this.#alive) this.send(message, transfer);
  }

  /** A stream's transport: `push` sends its audio; the rest is the same for every far side. */
  streamTransport(streamId: number, push: (pcm: Int16Array) => void): StreamTransport {
    return {
      push,
      flush: (pauseAtMs) => this.post({ type: "flush", streamId, ...(pauseAtMs === undefined ? {} : { pauseAtMs }) }),
      end: () => this.post({ type: "end", streamId }),
      close: () => {
        this.post({ type: "close", streamId });
        this.#streams.detach(streamId);
      },
    };
  }

  /** Stops the far side; its streams end with an error event. Resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.#alive) {
      this.#alive = false;
      this.#streams.failAll(new EngineUnavailableError(`${this.#names.engine} engine closed`));
      await this.shutdown();
    }
    await this.#exited;
  }

  /** Sends one message to the live far side. */
  protected abstract send(message: Out | StreamRequest, transfer?: ArrayBuffer[]): void;

  /** Asks the far side to exit (its streams have failed already); `stop` then awaits the exit. */
  protected abstract shutdown(): void | Promise<void>;

  /** The open stream `streamId`, for the subclass's own messages. */
  protected stream(streamId: number): S | undefined {
    return this.#streams.get(streamId);
  }

  /** The open streams, for load figures. */
  protected openStreams(): IterableIterator<S> {
    return this.#streams.values();
  }

  /** Routes a reply of the far side to its stream; start replies (answered before) are ignored. */
  protected route(reply: StreamReply<EventOf<S>> | StartReply): void {
    switch (reply.type) {
      case "ready":
      case "failed":
        return;
      case "opened":
        this.#streams.answered(reply.streamId);
        return;
      case "open-failed":
        this.#streams.answered(
          reply.streamId,
          new EngineUnavailableError(`${this.#names.engine} cannot open a stream: ${reply.message}`),
        );
        return;
      case "event":
        this.#streams.get(reply.streamId)?.receive(reply.event);
        return;
      case "ended":
        this.#streams.ended(reply.streamId);
        return;
    }
  }

  /**
   * The far side died on its own: every stream fails with `error`, once. The owner hears of it
   * first, so a stream that moves elsewhere when it fails finds the replacement already on its way.
   */
  protected crash(error: Error): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#onCrash();
    this.#streams.failAll(error);
  }
}
