/** Synthetic 16 kHz PCM16 signals for protocol tests with the deterministic test engine. */
import { SAMPLE_RATE, SAMPLES_PER_MS } from "@earshot/protocol";

export interface Burst {
  /** Tone (speech for the test engine) for this long. */
  readonly toneMs: number;
  /** Then silence for this long. */
  readonly silenceMs: number;
}

/** 440 Hz tone bursts at amplitude 3000 (RMS ~2100, far above the test engine's 300). */
export function bursts(pattern: readonly Burst[]): Int16Array {
  const total = pattern.reduce((n, b) => n + (b.toneMs + b.silenceMs) * SAMPLES_PER_MS, 0);
  const pcm = new Int16Array(total);
  let at = 0;
  for (const { toneMs, silenceMs } of pattern) {
    const tone = toneMs * SAMPLES_PER_MS;
    for (let i = 0; i < tone; i++) pcm[at + i] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE));
    at += tone + silenceMs * SAMPLES_PER_MS;
  }
  return pcm;
}

export function toBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** Splits PCM into chunks of `chunkMs`, each (after the first) prefixed with the previous `overlapMs`. */
export function seedChunks(pcm: Int16Array, chunkMs: number, overlapMs: number): Int16Array[] {
  const step = chunkMs * SAMPLES_PER_MS;
  const overlap = overlapMs * SAMPLES_PER_MS;
  const chunks: Int16Array[] = [];
  for (let i = 0; i < pcm.length; i += step) chunks.push(pcm.subarray(Math.max(0, i - overlap), i + step));
  return chunks;
}
