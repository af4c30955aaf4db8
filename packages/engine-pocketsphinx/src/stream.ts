/**
 * An `EngineStream` whose decoding happens in a `DecodingProcess`. Audio is serialized straight from
 * the caller's view into the IPC message (the caller keeps its buffer). The process counts time
 * from the first sample it decodes; this side adds the stream's start position.
 */

import { EngineUnavailableError, RemoteStream, type StreamHost } from "@earshot/engines";
import { SAMPLES_PER_MS } from "@earshot/protocol";
import type { ToWorker, WireEvent } from "./messages.js";

/** Demand is measured over the decoding of the last few seconds. */
const DEMAND_WINDOW_MS = 5_000;

export class PocketSphinxStream extends RemoteStream {
  /** Decoded pushes of the last `DEMAND_WINDOW_MS`: [when, samples, ms of decoding]. */
  readonly #decoded: Array<readonly [number, number, number]> = [];
  readonly #openedAt = performance.now();

  constructor(host: StreamHost<ToWorker>, id: number, startSample: number) {
    const transport = host.streamTransport(id, (pcm) => host.post({ type: "push", streamId: id, pcm }));
    super(transport, id, startSample);
  }

  /** How long this stream has been open, ms. */
  get ageMs(): number {
    return performance.now() - this.#openedAt;
  }

  /** The process decoded a push of `samples` in `busyMs`. */
  override consumed(samples: number, busyMs = 0): void {
    super.consumed(samples);
    const now = performance.now();
    this.#decoded.push([now, samples, busyMs]);
    this.#prune(now);
  }

  /**
   * The share of one decoding thread this stream needs to keep up in real time: its decoding time
   * per second of wall time, but never more than its decoding time per second of audio. A live
   * stream needs what it uses; a file sent at full speed uses a whole thread but would need only its
   * real-time factor, and fair scheduling hands the rest to others, so it counts as that.
   */
  get demand(): number {
    const now = performance.now();
    this.#prune(now);
    let samples = 0;
    let busyMs = 0;
    for (const [, decodedSamples, ms] of this.#decoded) {
      samples += decodedSamples;
      busyMs += ms;
    }
    if (samples === 0) return 0;
    const wallMs = Math.max(1_000, Math.min(DEMAND_WINDOW_MS, now - this.#openedAt));
    return Math.min(busyMs / wallMs, busyMs / (samples / SAMPLES_PER_MS));
  }

  #prune(now: number): void {
    while (this.#decoded.length > 0 && (this.#decoded[0]?.[0] ?? now) < now - DEMAND_WINDOW_MS) this.#decoded.shift();
  }

  /** An event from the process, whose decoder failures come as events too. */
  override receive(event: WireEvent): void {
    if (event.type === "error") this.fail(new EngineUnavailableError(event.message));
    else super.receive(event);
  }
}
