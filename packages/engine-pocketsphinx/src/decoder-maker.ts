/**
 * Makes decoders where they stall no one: `ps_init` (about 0.25 s of CPU and 95 MB for the en-us
 * model) runs on a thread of its own inside the decoding process, and the decoding thread adopts
 * the finished decoder by its address. A decoder is plain memory of the process, so it may be
 * created on one thread and used on another as long as one thread uses it at a time; the maker
 * never touches a decoder again after handing it over.
 *
 * The first decoder is made normally and its language model, dictionary and dict2pid become the
 * process's shared model (`ModelShare`, docs/design/shared-model.md); later decoders are made
 * normally on the maker thread too, then take the shared model in place of their own copies, which
 * the maker frees: about 36 MB each instead of 91 MB. The references they need are taken here, on
 * the decoding thread, before the request goes out, so no reference count of a shared object ever
 * changes on the maker thread; adopting one costs the decoding thread nothing more than before.
 */

import { Worker } from "node:worker_threads";
import { Decoder, type DecoderArgs, type LibraryPaths, ModelShare, type SharedModelRefs } from "./binding.js";
import type { MakerReply, MakerRequest } from "./decoder-maker-thread.js";

const THREAD_URL = new URL("./decoder-maker-thread.js", import.meta.url);

export interface DecoderMakerStats {
  /** Decoders made that share the model, and made whole (the first, or a layout check failed). */
  readonly shared: number;
  readonly whole: number;
  /** The last make: on the maker thread, and the decoding thread's part (taking it over). */
  readonly lastMakeMs: number;
  readonly lastAdoptMs: number;
}

interface Pending {
  readonly resolve: (decoder: Decoder) => void;
  readonly reject: (error: Error) => void;
  readonly lent: SharedModelRefs | undefined;
}

export class DecoderMaker {
  readonly #args: DecoderArgs;
  readonly #paths: LibraryPaths;
  readonly #shareModel: boolean;
  #share: ModelShare | undefined;
  #thread: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #stats = { shared: 0, whole: 0, lastMakeMs: 0, lastAdoptMs: 0 };

  /** `shareModel: false` makes every decoder whole (91 MB), as before sharing. */
  constructor(args: DecoderArgs, paths: LibraryPaths, options: { readonly shareModel?: boolean } = {}) {
    this.#args = args;
    this.#paths = paths;
    this.#shareModel = options.shareModel ?? true;
  }

  get stats(): DecoderMakerStats {
    return { ...this.#stats };
  }

  /** A new decoder, made on the maker thread; rejects with what ps_init threw. */
  make(): Promise<Decoder> {
    const thread = this.#start();
    const id = this.#nextId++;
    // Taken here, on the decoding thread: see the top of this file.
    const lent = this.#share?.lend();
    return new Promise<Decoder>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, lent });
      thread.ref();
      thread.postMessage({ id, ...(lent ? { shared: lent } : {}) } satisfies MakerRequest);
    });
  }

  /** Stop the thread; requests in flight reject. */
  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = undefined;
    this.#rejectAll(new Error("the decoder maker is closed"));
    await thread?.terminate();
    // Decoders that share the model hold their own references.
    this.#share?.close();
    this.#share = undefined;
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
    if ("error" in reply) {
      if (waiter.lent) this.#share?.giveBack(waiter.lent);
      waiter.reject(new Error(reply.error));
      return;
    }
    const started = performance.now();
    const decoder = new Decoder(this.#args, this.#paths, reply.address, reply.shared);
    if (waiter.lent && !reply.shared) this.#share?.giveBack(waiter.lent);
    // The first decoder made whole provides the model the later ones share.
    if (this.#shareModel && !this.#share && !reply.shared) this.#share = ModelShare.from(decoder, this.#args);
    this.#stats = {
      shared: this.#stats.shared + (reply.shared ? 1 : 0),
      whole: this.#stats.whole + (reply.shared ? 0 : 1),
      lastMakeMs: reply.makeMs,
      lastAdoptMs: performance.now() - started,
    };
    waiter.resolve(decoder);
  }

  /** A decoder in flight when the thread went away is lost, with the references lent for it. */
  #rejectAll(error: Error): void {
    const waiters = [...this.#pending.values()];
    this.#pending.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}
