/**
 * The server's handle on one sherpa-onnx host process (host.ts): starts it, routes its messages to
 * the streams it hosts, and turns its death (a native abort, a kill, an exit) into an error event
 * on every one of them, with the signal and the tail of what it printed to stderr.
 */

import { type ChildProcess, fork } from "node:child_process";
import { EngineUnavailableError, RemoteStreams } from "@earshot/engines";
import { describeExit, OutputTail } from "./child-output.js";
import type { FromHost, HostConfig, ToHost } from "./host-messages.js";
import type { SherpaStream } from "./stream.js";

const HOST_URL = new URL("./host.js", import.meta.url);
/** After `shutdown`, how long the process may take to exit before it is killed. */
const STOP_GRACE_MS = 2_000;
/** Loading every model of a host; the canary has already loaded each once, so this is generous. */
const DEFAULT_START_TIMEOUT_MS = 120_000;
/** Decoding time is summed over this window for utilization. */
const BUSY_WINDOW_MS = 5_000;

/** Batching counters, for tests and tuning. */
export interface BatchStats {
  /** `decodeStreams` calls. */
  readonly batches: number;
  /** Streams decoded in them, summed. */
  readonly streamsDecoded: number;
  readonly maxBatch: number;
}

export class HostProcess {
  readonly #child: ChildProcess;
  readonly #stderr: OutputTail;
  readonly #streams = new RemoteStreams<SherpaStream>();
  readonly #onCrash: (host: HostProcess) => void;
  readonly #exited: Promise<void>;
  readonly #busy: Array<readonly [at: number, ms: number]> = [];
  #alive = true;
  #batches = 0;
  #streamsDecoded = 0;
  #maxBatch = 0;

  private constructor(child: ChildProcess, stderr: OutputTail, onCrash: (host: HostProcess) => void) {
    this.#child = child;
    this.#stderr = stderr;
    this.#onCrash = onCrash;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.on("message", (message: FromHost) => this.#dispatch(message));
    // "close" comes after stderr is read to its end, so the crash carries the native library's last words.
    child.on("close", (code, signal) => this.#crash(describeExit(code, signal)));
    child.on("error", (error) => this.#crash(error.message));
  }

  /** Start a host; resolves once every model's recognizer is loaded, or fails after `timeoutMs`. */
  static start(
    config: HostConfig,
    onCrash: (host: HostProcess) => void,
    timeoutMs = DEFAULT_START_TIMEOUT_MS,
  ): Promise<HostProcess> {
    return new Promise((resolve, reject) => {
      const child = fork(HOST_URL, [], {
        stdio: ["ignore", "ignore", "pipe", "ipc"],
        serialization: "advanced",
        execArgv: [],
      });
      const stderr = new OutputTail(child.stderr);
      const fail = (why: string) => {
        cleanup();
        child.kill("SIGKILL");
        const detail = stderr.text;
        reject(new EngineUnavailableError(`sherpa-onnx host process ${why}${detail ? `: ${detail}` : ""}`));
      };
      const onMessage = (message: FromHost) => {
        if (message.type === "ready") {
          cleanup();
          resolve(new HostProcess(child, stderr, onCrash));
        } else if (message.type === "init-failed") {
          fail(`failed to load its models: ${message.message}`);
        }
      };
      const onError = (error: Error) => fail(`failed to start: ${error.message}`);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        fail(`died while loading (${describeExit(code, signal)})`);
      // A host that neither loads nor dies must not hold the engine's load (and the server's) for ever.
      const timer = setTimeout(() => fail(`did not load its models within ${timeoutMs} ms`), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("error", onError);
        child.off("exit", onExit);
      };
      child.on("message", onMessage);
      child.on("error", onError);
      child.on("exit", onExit);
      child.send({ type: "init", config } satisfies ToHost);
    });
  }

  get alive(): boolean {
    return this.#alive;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get streamCount(): number {
    return this.#streams.count;
  }

  get stats(): BatchStats {
    return { batches: this.#batches, streamsDecoded: this.#streamsDecoded, maxBatch: this.#maxBatch };
  }

  /** Share of the last few seconds this process spent decoding (0..1). */
  get utilization(): number {
    const now = performance.now();
    while (this.#busy.length > 0 && (this.#busy[0]?.[0] ?? now) < now - BUSY_WINDOW_MS) this.#busy.shift();
    return Math.min(1, this.#busy.reduce((sum, [, ms]) => sum + ms, 0) / BUSY_WINDOW_MS);
  }

  get maxBacklogMs(): number {
    return this.#streams.maxBacklogMs;
  }

  open(stream: SherpaStream, message: Extract<ToHost, { type: "open" }>): Promise<void> {
    if (!this.#alive) return Promise.reject(new EngineUnavailableError("sherpa-onnx host process is not running"));
    return this.#streams.open(stream, () => this.post(message));
  }

  post(message: ToHost): void {
    if (this.#alive && this.#child.connected) this.#child.send(message);
  }

  detach(streamId: number): void {
    this.#streams.detach(streamId);
  }

  /** Kill it now, as a crash would (tests of failure isolation). */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.#child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.#alive) {
      this.#alive = false;
      this.#streams.failAll(new EngineUnavailableError("sherpa-onnx engine closed"));
      this.#child.send({ type: "shutdown" } satisfies ToHost);
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), STOP_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    await this.#exited;
  }

  #dispatch(message: FromHost): void {
    switch (message.type) {
      case "opened":
      case "open-failed": {
        this.#streams.answered(
          message.streamId,
          message.type === "opened"
            ? undefined
            : new EngineUnavailableError(`sherpa-onnx cannot open a stream: ${message.message}`),
        );
        return;
      }
      case "event":
        this.#streams.get(message.streamId)?.receive(message.event);
        return;
      case "decoded":
        this.#busy.push([performance.now(), message.busyMs]);
        for (const size of message.batchSizes) {
          this.#batches += 1;
          this.#streamsDecoded += size;
          this.#maxBatch = Math.max(this.#maxBatch, size);
        }
        for (const [streamId, samples] of message.consumed) this.#streams.get(streamId)?.consumed(samples);
        return;
      case "ended":
        this.#streams.ended(message.streamId);
        return;
      case "ready":
      case "init-failed":
        return;
    }
  }

  #crash(how: string): void {
    if (!this.#alive) return;
    this.#alive = false;
    const detail = this.#stderr.text;
    this.#streams.failAll(
      new EngineUnavailableError(`sherpa-onnx host process crashed (${how})${detail ? `: ${detail.slice(-500)}` : ""}`),
    );
    this.#onCrash(this);
  }
}
