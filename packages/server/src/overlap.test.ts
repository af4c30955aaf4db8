import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matchingOverlaps, OverlapRemover } from "./overlap.js";

/** Deterministic noise-like PCM (an LCG), so exact matches happen only where copied. */
function noise(samples: number, seed: number): Int16Array {
  const pcm = new Int16Array(samples);
  let state = seed;
  for (let i = 0; i < samples; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    pcm[i] = (state >>> 16) - 32768;
  }
  return pcm;
}

function seedChunks(pcm: Int16Array, step: number, overlap: number): Int16Array[] {
  const chunks: Int16Array[] = [];
  for (let i = 0; i < pcm.length; i += step) chunks.push(pcm.subarray(Math.max(0, i - overlap), i + step));
  return chunks;
}

function rejoin(remover: OverlapRemover, chunks: Int16Array[]): Int16Array {
  const parts = chunks.map((c) => remover.strip(c).slice());
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

describe("OverlapRemover", () => {
  const pcm = noise(16_000 * 3, 7);

  it("auto-detects the seed's 100 ms overlap on 500 ms chunks and restores the exact stream", () => {
    assert.deepEqual(rejoin(new OverlapRemover(), seedChunks(pcm, 8000, 1600)), pcm);
  });

  it("auto-detects other overlaps and no overlap", () => {
    assert.deepEqual(rejoin(new OverlapRemover(), seedChunks(pcm, 4000, 480)), pcm);
    assert.deepEqual(rejoin(new OverlapRemover(), seedChunks(pcm, 1600, 0)), pcm);
  });

  it("strips a declared overlap without looking", () => {
    assert.deepEqual(rejoin(new OverlapRemover(100), seedChunks(pcm, 8000, 1600)), pcm);
  });

  it("keeps the learned overlap through digital silence", () => {
    const withSilence = new Int16Array(16_000 * 4);
    withSilence.set(pcm.subarray(0, 16_000), 0);
    withSilence.set(pcm.subarray(16_000, 32_000), 16_000 * 3);
    assert.deepEqual(rejoin(new OverlapRemover(), seedChunks(withSilence, 8000, 1600)), withSilence);
  });

  it("finds every matching length, ascending", () => {
    const zeros = new Int16Array(64);
    assert.deepEqual(matchingOverlaps(zeros, new Int16Array(20)), [16, 17, 18, 19, 20]);
    assert.deepEqual(matchingOverlaps(pcm.subarray(0, 100), pcm.subarray(100, 200)), []);
  });
});
