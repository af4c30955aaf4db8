/**
 * The server's handle on one PocketSphinx decoding process (host.ts): starts it and adds, to what
 * every `ChildHost` does (routing, a death failing every stream, the stderr tail in the error), the
 * decoding times it reports for each stream's demand.
 *
 * A process, not a worker thread: a heap corruption in libpocketsphinx (a SIGABRT from glibc, a
 * SIGSEGV) ends this process and its streams, and the server and the other processes live on.
 */

import { ChildHost, type ForkedHost, startChildHost } from "@earshot/engines";
import type { DecoderPoolStats } from "./decoder-pool.js";
import type { FromWorker, ToWorker, WorkerConfig } from "./messages.js";
import type { PocketSphinxStream } from "./stream.js";

const HOST_URL = new URL("./host.js", import.meta.url);
const NAMES = { engine: "pocketsphinx", host: "pocketsphinx decoding process" };
/** Loading the library and creating the first decoder takes about a second; a stuck start fails. */
const START_TIMEOUT_MS = 60_000;

export class DecodingProcess extends ChildHost<PocketSphinxStream, ToWorker> {
  private constructor(forked: ForkedHost, onCrash: () => void) {
    super(NAMES, forked, onCrash);
  }

  /** Start a process; resolves once it has loaded the library and made its warm decoders. */
  static start(config: WorkerConfig, onCrash: () => void): Promise<DecodingProcess> {
    return startChildHost(HOST_URL, {
      names: NAMES,
      init: { type: "init", config } satisfies ToWorker,
      timeoutMs: START_TIMEOUT_MS,
      ready: (forked) => new DecodingProcess(forked, onCrash),
    });
  }

  /** Its decoder pool, as it last reported (undefined before the first report). */
  pool: DecoderPoolStats | undefined;
  #poolReported: (() => void) | undefined;
  /** Resolves once the process has reported its pool (right after `ready`). */
  readonly poolReported = new Promise<void>((resolve) => {
    this.#poolReported = resolve;
  });

  /** Each open stream's real-time demand (see `PocketSphinxStream.demand`) and age, read once. */
  streamLoads(): { readonly demand: number; readonly ageMs: number; readonly speaking: boolean }[] {
    return [...this.openStreams()].map((stream) => ({
      demand: stream.demand,
      ageMs: stream.ageMs,
      speaking: stream.speaking,
    }));
  }

  protected override dispatch(message: FromWorker): void {
    switch (message.type) {
      case "consumed":
        this.stream(message.streamId)?.consumed(message.samples, message.busyMs);
        return;
      case "checkpoint":
        this.stream(message.streamId)?.checkpoint(message.checkpoint);
        return;
      case "pool":
        this.pool = message.stats;
        this.#poolReported?.();
        return;
      default:
        this.route(message);
    }
  }
}
