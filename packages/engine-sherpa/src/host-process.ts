/**
 * The server's handle on one sherpa-onnx host process (host.ts): starts it and adds, to what every
 * `RemoteHost` does (routing, a death failing every stream), the process's transport, its batching
 * counters and busy time, and the signal and the tail of what it printed to stderr in the error.
 */

import { ChildHost, describeExit, type ForkedHost, type StartFailure, startChildHost } from "@earshot/engines";
import type { FromHost, HostConfig, ToHost } from "./host-messages.js";
import type { SherpaStream } from "./stream.js";

const HOST_URL = new URL("./host.js", import.meta.url);
const NAMES = { engine: "sherpa-onnx", host: "sherpa-onnx host process" };
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

export class HostProcess extends ChildHost<SherpaStream, ToHost> {
  readonly #busy: Array<readonly [at: number, ms: number]> = [];
  #batches = 0;
  #streamsDecoded = 0;
  #maxBatch = 0;

  private constructor(forked: ForkedHost, onCrash: () => void) {
    super(NAMES, forked, onCrash);
  }

  /** Start a host; resolves once every model's recognizer is loaded, or fails after `timeoutMs`. */
  static start(config: HostConfig, onCrash: () => void, timeoutMs = DEFAULT_START_TIMEOUT_MS): Promise<HostProcess> {
    return startChildHost(HOST_URL, {
      names: NAMES,
      init: { type: "init", config } satisfies ToHost,
      // A host that neither loads nor dies must not hold the engine's load (and the server's) for ever.
      timeoutMs,
      describeFailure: why,
      ready: (forked) => new HostProcess(forked, onCrash),
    });
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

  protected override dispatch(message: FromHost): void {
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
