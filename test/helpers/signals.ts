/** Synthetic 16 kHz PCM16 signals for protocol tests with the deterministic test engine. */
export const RATE = 16_000;

export interface Burst {
  /** Tone (speech for the test engine) for this long. */
  readonly toneMs: number;
  /** Then silence for this long. */
  readonly silenceMs: number;
}

/** 440 Hz tone bursts at amplitude 3000 (RMS ~2100, far above the test engine's 300). */
export function bursts(pattern: readonly Burst[]): Int16Array {
  const total = pattern.reduce((n, b) => n + ((b.toneMs + b.silenceMs) * RATE) / 1000, 0);
  const pcm = new Int16Array(total);
  let at = 0;
  for (const { toneMs, silenceMs } of pattern) {
    const tone = (toneMs * RATE) / 1000;
    for (let i = 0; i < tone; i++) pcm[at + i] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / RATE));
    at += tone + (silenceMs * RATE) / 1000;
  }
  return pcm;
}

export function toBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** Splits PCM into chunks of `chunkMs`, each (after the first) prefixed with the previous `overlapMs`. */
export function seedChunks(pcm: Int16Array, chunkMs: number, overlapMs: number): Int16Array[] {
  const step = (chunkMs * RATE) / 1000;
  const overlap = (overlapMs * RATE) / 1000;
  const chunks: Int16Array[] = [];
  for (let i = 0; i < pcm.length; i += step) chunks.push(pcm.subarray(Math.max(0, i - overlap), i + step));
  return chunks;
}
