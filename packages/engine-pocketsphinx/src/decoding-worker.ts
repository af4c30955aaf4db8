/**
 * The main thread's handle on one decoding worker thread: starts it and adds, to what every
 * `RemoteHost` does (routing, a crash failing every stream), the thread's transport and the
 * decoding times it reports for each stream's demand.
 *
 * Workers are never stopped with `Worker.terminate()`: terminating a thread while it is inside a
 * koffi call aborts the whole process (a fatal napi_throw). `stop()` raises a shared flag that
 * makes the worker skip its queued audio, then asks it to free its decoders and exit.
 */

import { Worker } from "node:worker_threads";
import { awaitStart, EngineUnavailableError, RemoteHost } from "@earshot/engines";
import type { FromWorker, ToWorker, WorkerConfig, WorkerData } from "./messages.js";
import type { PocketSphinxStream } from "./stream.js";

const WORKER_URL = new URL("./worker.js", import.meta.url);
const NAMES = { engine: "pocketsphinx", host: "pocketsphinx worker" };

export class DecodingWorker extends RemoteHost<PocketSphinxStream, ToWorker> {
  readonly #worker: Worker;
  readonly #stopFlag: Int32Array;

  private constructor(worker: Worker, stopFlag: Int32Array, onCrash: () => void) {
    super(NAMES, new Promise((resolve) => worker.once("exit", () => resolve())), onCrash);
    this.#worker = worker;
    this.#stopFlag = stopFlag;
    worker.on("message", (message: FromWorker) => this.#dispatch(message));
    worker.on("error", (error) => this.#crashed(error.message));
    worker.on("exit", (code) => this.#crashed(`exited with code ${code}`));
  }

  /** Start a worker; resolves once it has loaded the library and created a warm decoder. */
  static start(config: WorkerConfig, onCrash: () => void): Promise<DecodingWorker> {
    const stopFlag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(WORKER_URL, { workerData: { ...config, stopFlag } satisfies WorkerData });
    // After "failed", an error or an exit, the thread is gone or on its way out by itself.
    return awaitStart(worker, {
      ready: () => new DecodingWorker(worker, stopFlag, onCrash),
      failed: (failure) => {
        switch (failure.kind) {
          case "failed":
            return new EngineUnavailableError(failure.message);
          case "error":
            return new EngineUnavailableError(`pocketsphinx worker failed to start: ${failure.error.message}`, {
              cause: failure.error,
            });
          case "exit":
            return new EngineUnavailableError(`pocketsphinx worker exited with code ${failure.code} while starting`);
          case "timeout":
            return new EngineUnavailableError(`pocketsphinx worker did not start within ${failure.timeoutMs} ms`);
        }
      },
    });
  }

  /** Each open stream's real-time demand (see `PocketSphinxStream.demand`) and age, read once. */
  streamLoads(): { readonly demand: number; readonly ageMs: number }[] {
    return [...this.openStreams()].map((stream) => ({ demand: stream.demand, ageMs: stream.ageMs }));
  }

  protected override send(message: ToWorker, transfer?: ArrayBuffer[]): void {
    this.#worker.postMessage(message, transfer);
  }

  /** Stop the thread once its current decoder call returns. */
  protected override shutdown(): void {
    Atomics.store(this.#stopFlag, 0, 1);
    this.#worker.postMessage({ type: "shutdown" } satisfies ToWorker);
  }

  #dispatch(message: FromWorker): void {
    switch (message.type) {
      case "consumed":
        this.stream(message.streamId)?.consumed(message.samples, message.busyMs);
        return;
      default:
        this.route(message);
    }
  }

  #crashed(reason: string): void {
    this.crash(new EngineUnavailableError(`pocketsphinx worker crashed: ${reason}`));
  }
}
