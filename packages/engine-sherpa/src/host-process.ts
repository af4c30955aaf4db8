/**
 * The server's handle on one sherpa-onnx host process (host.ts): starts it and adds, to what every
 * `RemoteHost` does (routing, a death failing every stream), the process's transport, its batching
 * counters and busy time, and the signal and the tail of what it printed to stderr in the error.
 */

import { type ChildProcess, fork } from "node:child_process";
import { awaitStart, EngineUnavailableError, RemoteHost, type StartFailure } from "@earshot/engines";
import { describeExit, OutputTail } from "./child-output.js";
import type { FromHost, HostConfig, ToHost } from "./host-messages.js";
import type { SherpaStream } from "./stream.js";

const HOST_URL = new URL("./host.js", import.meta.url);
const NAMES = { engine: "sherpa-onnx", host: "sherpa-onnx host process" };
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

/** The counters of two hosts (or of one and those gone before it) together. */
export function addStats(a: BatchStats, b: BatchStats): BatchStats {
  return {
    batches: a.batches + b.batches,
    streamsDecoded: a.streamsDecoded + b.streamsDecoded,
    maxBatch: Math.max(a.maxBatch, b.maxBatch),
  };
}

export class HostProcess extends RemoteHost<SherpaStream, ToHost> {
  readonly #child: ChildProcess;
  readonly #stderr: OutputTail;
  readonly #exited: Promise<void>;
  readonly #busy: Array<readonly [at: number, ms: number]> = [];
  #batches = 0;
  #streamsDecoded = 0;
  #maxBatch = 0;

  private constructor(child: ChildProcess, stderr: OutputTail, onCrash: () => void) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    super(NAMES, exited, onCrash);
    this.#child = child;
    this.#stderr = stderr;
    this.#exited = exited;
    child.on("message", (message: FromHost) => this.#dispatch(message));
    // "close" comes after stderr is read to its end, so the crash carries the native library's last words.
    child.on("close", (code, signal) => this.#crashed(describeExit(code, signal)));
    child.on("error", (error) => this.#crashed(error.message));
  }

  /** Start a host; resolves once every model's recognizer is loaded, or fails after `timeoutMs`. */
  static start(config: HostConfig, onCrash: () => void, timeoutMs = DEFAULT_START_TIMEOUT_MS): Promise<HostProcess> {
    const child = fork(HOST_URL, [], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
      execArgv: [],
    });
    const stderr = new OutputTail(child.stderr);
    const starting = awaitStart(child, {
      ready: () => new HostProcess(child, stderr, onCrash),
      failed: (failure) => {
        child.kill("SIGKILL");
        const detail = stderr.text;
        return new EngineUnavailableError(`sherpa-onnx host process ${why(failure)}${detail ? `: ${detail}` : ""}`);
      },
      // A host that neither loads nor dies must not hold the engine's load (and the server's) for ever.
      timeoutMs,
    });
    child.send({ type: "init", config } satisfies ToHost);
    return starting;
  }

  get pid(): number | undefined {
    return this.#child.pid;
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

  /** Kill it now, as a crash would (tests of failure isolation). */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.#child.kill(signal);
  }

  protected override send(message: ToHost): void {
    if (this.#child.connected) this.#child.send(message);
  }

  /** Asks it to exit; kills it if it has not within `STOP_GRACE_MS`. */
  protected override async shutdown(): Promise<void> {
    this.#child.send({ type: "shutdown" } satisfies ToHost);
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), STOP_GRACE_MS);
    await this.#exited;
    clearTimeout(timer);
  }

  #dispatch(message: FromHost): void {
    switch (message.type) {
      case "decoded":
        this.#busy.push([performance.now(), message.busyMs]);
        for (const size of message.batchSizes) {
          this.#batches += 1;
          this.#streamsDecoded += size;
          this.#maxBatch = Math.max(this.#maxBatch, size);
        }
        for (const [streamId, samples] of message.consumed) this.stream(streamId)?.consumed(samples);
        return;
      default:
        this.route(message);
    }
  }

  #crashed(how: string): void {
    const detail = this.#stderr.text;
    this.crash(
      new EngineUnavailableError(`sherpa-onnx host process crashed (${how})${detail ? `: ${detail.slice(-500)}` : ""}`),
    );
  }
}

/** What a host that did not start did. */
function why(failure: StartFailure): string {
  switch (failure.kind) {
    case "failed":
      return `failed to load its models: ${failure.message}`;
    case "error":
      return `failed to start: ${failure.error.message}`;
    case "exit":
      return `died while loading (${describeExit(failure.code, failure.signal)})`;
    case "timeout":
      return `did not load its models within ${failure.timeoutMs} ms`;
  }
}
