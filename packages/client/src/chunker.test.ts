import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Chunker } from "./chunker.js";

function* lcg(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1664525 + 1013904223) >>> 0;
    yield state / 2 ** 32;
  }
}

const ramp = (length: number, from = 0) => Int16Array.from({ length }, (_, i) => (from + i) % 30_000);

/** Chunks minus their overlap prefixes, concatenated. */
function reassemble(chunks: Int16Array[], overlap: number): number[] {
  return chunks.flatMap((chunk, i) => [...(i === 0 ? chunk : chunk.subarray(overlap))]);
}

describe("Chunker", () => {
  for (const [chunkSamples, overlapSamples] of [
    [1600, 0],
    [8000, 1600],
    [12_800, 0],
    [100, 250],
  ] as const) {
    test(`chunks minus overlaps == input (chunk ${chunkSamples}, overlap ${overlapSamples}, random pushes)`, () => {
      const input = ramp(50_000);
      const chunker = new Chunker({ chunkSamples, overlapSamples });
      const chunks: Int16Array[] = [];
      const random = lcg(chunkSamples + overlapSamples);
      for (let at = 0; at < input.length; ) {
        const size = Math.floor((random.next().value as number) * 20_000);
        // Copy each chunk at once: views are only valid until the caller reuses its buffer.
        for (const chunk of chunker.push(input.subarray(at, at + size))) chunks.push(chunk.slice());
        at += size;
      }
      const rest = chunker.flush();
      if (rest) chunks.push(rest);
      assert.deepEqual(reassemble(chunks, overlapSamples), [...input]);
      chunks.slice(0, -1).forEach((chunk, i) => {
        assert.equal(chunk.length, chunkSamples + (i === 0 ? 0 : overlapSamples), `chunk ${i}`);
      });
      // every later chunk starts with the end of the stream before it (zeros before the start)
      for (let i = 1; i < chunks.length; i++) {
        const before = [...new Array(overlapSamples).fill(0), ...reassemble(chunks.slice(0, i), overlapSamples)];
        const expected = overlapSamples === 0 ? [] : before.slice(-overlapSamples);
        assert.deepEqual([...(chunks[i] as Int16Array).subarray(0, expected.length)], expected);
      }
    });
  }

  test("full chunks are views of the input (zero copy), overlap included when contiguous", () => {
    const input = ramp(5000);
    const plain = new Chunker({ chunkSamples: 1000 }).push(input);
    assert.equal(plain.length, 5);
    for (const chunk of plain) assert.equal(chunk.buffer, input.buffer);
    const overlapped = new Chunker({ chunkSamples: 1000, overlapSamples: 200 }).push(input);
    assert.equal(overlapped[1]?.buffer, input.buffer);
    assert.equal(overlapped[1]?.[0], 800);
  });

  test("keeps a partial chunk until it fills, and flush() emits it once", () => {
    const chunker = new Chunker({ chunkSamples: 100 });
    assert.deepEqual(chunker.push(ramp(60)), []);
    assert.equal(chunker.pendingSamples, 60);
    const [chunk] = chunker.push(ramp(60, 60));
    assert.deepEqual([...(chunk ?? [])], [...ramp(100)]);
    assert.equal(chunker.flush()?.length, 20);
    assert.equal(chunker.flush(), undefined);
  });

  test("a flushed first chunk shorter than the overlap: the next prefix is padded to the declared overlap", () => {
    const chunker = new Chunker({ chunkSamples: 100, overlapSamples: 50 });
    chunker.push(ramp(10, 1));
    const first = chunker.flush() as Int16Array;
    assert.deepEqual([...first], [...ramp(10, 1)]);
    const [second] = chunker.push(ramp(100, 11));
    assert.equal(second?.length, 150);
    assert.deepEqual([...(second ?? []).subarray(0, 40)], new Array(40).fill(0));
    assert.deepEqual([...(second ?? []).subarray(40)], [...ramp(110, 1)]);
  });

  test("rejects bad sizes", () => {
    assert.throws(() => new Chunker({ chunkSamples: 0 }), RangeError);
    assert.throws(() => new Chunker({ chunkSamples: 10, overlapSamples: -1 }), RangeError);
  });
});
