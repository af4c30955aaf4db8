/**
 * Makes decoders where they stall no one: `ps_init` (about 0.25 s of CPU and 95 MB for the en-us
 * model) runs on a thread of its own inside the decoding process, and the decoding thread adopts
 * the finished decoder by its address. A decoder is plain memory of the process, so it may be
 * created on one thread and used on another as long as one thread uses it at a time; the maker
 * never touches a decoder again after handing it over.
 */

import { Worker } from "node:worker_threads";
import { Decoder, type DecoderArgs, type LibraryPaths } from "./binding.js";
import type { MakerReply, MakerRequest } from "./decoder-maker-thread.js";

const THREAD_URL = new URL("./decoder-maker-thread.js", import.meta.url);

export class DecoderMaker {
  readonly #args: DecoderArgs;
  readonly #paths: LibraryPaths;
  #thread: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (decoder: Decoder) => void; reject: (error: Error) => void }>();

  constructor(args: DecoderArgs, paths: LibraryPaths) {
    this.#args = args;
    this.#paths = paths;
  }

  /** A new decoder, made on the maker thread; rejects with what ps_init threw. */
  make(): Promise<Decoder> {
    const thread = this.#start();
    const id = this.#nextId++;
    return new Promise<Decoder>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      thread.ref();
      thread.postMessage({ id } satisfies MakerRequest);
    });
  }

  /** Stop the thread; requests in flight reject. */
  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = undefined;
    this.#rejectAll(new Error("the decoder maker is closed"));
    await thread?.terminate();
  }

  #start(): Worker {
    if (this.#thread) return this.#thread;
    const thread = new Worker(THREAD_URL, { workerData: { args: this.#args, paths: this.#paths } });
    thread.on("message", (reply: MakerReply) => this.#answer(reply));
    thread.on("error", (error) => {
      this.#thread = undefined;
      this.#rejectAll(error);
    });
    thread.on("exit", () => {
      if (this.#thread === thread) this.#thread = undefined;
      this.#rejectAll(new Error("the decoder maker thread exited"));
    });
    this.#thread = thread;
    return thread;
  }

  #answer(reply: MakerReply): void {
    const waiter = this.#pending.get(reply.id);
    this.#pending.delete(reply.id);
    // An idle maker does not keep the process alive.
    if (this.#pending.size === 0) this.#thread?.unref();
    if (!waiter) return;
    if ("error" in reply) waiter.reject(new Error(reply.error));
    else waiter.resolve(new Decoder(this.#args, this.#paths, reply.address));
  }

  #rejectAll(error: Error): void {
    const waiters = [...this.#pending.values()];
    this.#pending.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}
