/**
 * When each stretch of the stream was captured, for the end-of-speech → final latency: a final's
 * last word ends at stream time `t`; the latency is how long after the microphone delivered `t` the
 * final arrived. Bounded: keeps the last minute of 20 ms chunks.
 */
import { SAMPLES_PER_MS } from "@earshot/protocol/encodings";

const MAX_MARKS = 3000;

export class CaptureClock {
  /** [stream sample at the end of a chunk, performance.now() when it arrived], oldest first. */
  readonly #marks: [number, number][] = [];
  #samples = 0;

  captured(samples: number, at = performance.now()): void {
    this.#samples += samples;
    this.#marks.push([this.#samples, at]);
    if (this.#marks.length > MAX_MARKS) this.#marks.splice(0, this.#marks.length - MAX_MARKS);
  }

  /** ms between the capture of stream time `streamMs` and `now`; undefined if not captured (or forgotten). */
  latencyMs(streamMs: number, now = performance.now()): number | undefined {
    const sample = streamMs * SAMPLES_PER_MS;
    const mark = this.#marks.find(([end]) => end >= sample);
    if (mark === undefined || sample < (this.#marks[0]?.[0] ?? 0) - 320) return undefined;
    const capturedAt = mark[1] - (mark[0] - sample) / SAMPLES_PER_MS;
    return Math.max(0, Math.round(now - capturedAt));
  }
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : Math.round(((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2);
}
