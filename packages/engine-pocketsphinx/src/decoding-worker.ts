/**
 * The main thread's handle on one decoding worker thread: starts it, routes its messages to the
 * streams it hosts, and turns a crash (an `error` or unexpected `exit`) into an error event on
 * every one of them.
 *
 * Workers are never stopped with `Worker.terminate()`: terminating a thread while it is inside a
 * koffi call aborts the whole process (a fatal napi_throw). `stop()` raises a shared flag that
 * makes the worker skip its queued audio, then asks it to free its decoders and exit.
 */

import { Worker } from "node:worker_threads";
import { EngineUnavailableError, RemoteStreams } from "@earshot/engines";
import type { FromWorker, ToWorker, WorkerConfig, WorkerData } from "./messages.js";
import type { PocketSphinxStream } from "./stream.js";

const WORKER_URL = new URL("./worker.js", import.meta.url);

export class DecodingWorker {
  readonly #worker: Worker;
  readonly #streams = new RemoteStreams<PocketSphinxStream>();
  readonly #onCrash: (worker: DecodingWorker) => void;
  readonly #stopFlag: Int32Array;
  readonly #exited: Promise<void>;
  #alive = true;

  private constructor(worker: Worker, stopFlag: Int32Array, onCrash: (worker: DecodingWorker) => void) {
    this.#worker = worker;
    this.#stopFlag = stopFlag;
    this.#onCrash = onCrash;
    this.#exited = new Promise((resolve) => worker.once("exit", () => resolve()));
    worker.on("message", (message: FromWorker) => this.#dispatch(message));
    worker.on("error", (error) => this.#crash(error.message));
    worker.on("exit", (code) => this.#crash(`exited with code ${code}`));
  }

  /** Start a worker; resolves once it has loaded the library and created a warm decoder. */
  static start(config: WorkerConfig, onCrash: (worker: DecodingWorker) => void): Promise<DecodingWorker> {
    return new Promise((resolve, reject) => {
      const stopFlag = new Int32Array(new SharedArrayBuffer(4));
      const worker = new Worker(WORKER_URL, { workerData: { ...config, stopFlag } satisfies WorkerData });
      // After "failed", an error or an exit, the thread is gone or on its way out by itself.
      const fail = (error: Error) => {
        cleanup();
        reject(error);
      };
      const onMessage = (message: FromWorker) => {
        if (message.type === "ready") {
          cleanup();
          resolve(new DecodingWorker(worker, stopFlag, onCrash));
        } else if (message.type === "failed") {
          fail(new EngineUnavailableError(message.message));
        }
      };
      const onError = (error: Error) =>
        fail(new EngineUnavailableError(`pocketsphinx worker failed to start: ${error.message}`, { cause: error }));
      const onExit = (code: number) =>
        fail(new EngineUnavailableError(`pocketsphinx worker exited with code ${code} while starting`));
      const cleanup = () => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
    });
  }

  get alive(): boolean {
    return this.#alive;
  }

  get streamCount(): number {
    return this.#streams.count;
  }

  open(stream: PocketSphinxStream, wordTimestamps: boolean): Promise<void> {
    if (!this.#alive) return Promise.reject(new EngineUnavailableError("pocketsphinx worker is not running"));
    return this.#streams.open(stream, () => this.post({ type: "open", streamId: stream.id, wordTimestamps }));
  }

  /** Streams still opening (no load of their own yet). */
  get openingCount(): number {
    return this.#streams.openingCount;
  }

  /** Each open stream's real-time demand (see `PocketSphinxStream.demand`) and age, read once. */
  streamLoads(): { readonly demand: number; readonly ageMs: number }[] {
    return [...this.#streams.values()].map((stream) => ({ demand: stream.demand, ageMs: stream.ageMs }));
  }

  /** The largest backlog among this worker's streams, in ms. */
  get maxBacklogMs(): number {
    return this.#streams.maxBacklogMs;
  }

  post(message: ToWorker, transfer?: ArrayBuffer[]): void {
    if (this.#alive) this.#worker.postMessage(message, transfer);
  }

  /** The stream is closed: route nothing more to it. */
  detach(streamId: number): void {
    this.#streams.detach(streamId);
  }

  /** Stop the thread once its current decoder call returns; its streams end with an error event. */
  async stop(): Promise<void> {
    if (this.#alive) {
      this.#alive = false;
      this.#streams.failAll(new EngineUnavailableError("pocketsphinx engine closed"));
      Atomics.store(this.#stopFlag, 0, 1);
      this.#worker.postMessage({ type: "shutdown" } satisfies ToWorker);
    }
    await this.#exited;
  }

  #dispatch(message: FromWorker): void {
    switch (message.type) {
      case "opened":
      case "open-failed": {
        this.#streams.answered(
          message.streamId,
          message.type === "opened"
            ? undefined
            : new EngineUnavailableError(`pocketsphinx cannot open a stream: ${message.message}`),
        );
        break;
      }
      case "consumed":
        this.#streams.get(message.streamId)?.consumed(message.samples, message.busyMs);
        break;
      case "event":
        this.#streams.get(message.streamId)?.receive(message.event);
        break;
      case "ended":
        this.#streams.ended(message.streamId);
        break;
      case "ready":
      case "failed":
        break;
    }
  }

  #crash(reason: string): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#streams.failAll(new EngineUnavailableError(`pocketsphinx worker crashed: ${reason}`));
    this.#onCrash(this);
  }
}
