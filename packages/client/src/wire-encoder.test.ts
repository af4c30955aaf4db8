import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { interleavePcm } from "@earshot/audio";
import { createWireEncoder } from "./wire-encoder.js";

const tone = (hz: number, samples: number) =>
  Int16Array.from({ length: samples }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 16_000)));
const joined = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));

describe("createWireEncoder with two channels", () => {
  test("G.711: each channel encoded as a mono stream would be, bytes interleaved byte by byte", () => {
    const left = tone(440, 3200);
    const right = tone(1000, 3200);
    const stereo = createWireEncoder("mulaw", undefined, 2);
    // Uneven pieces, as the chunker may hand them over.
    const bytes = joined([
      ...stereo.encode(interleavePcm([left.subarray(0, 1000), right.subarray(0, 1000)])),
      ...stereo.encode(interleavePcm([left.subarray(1000), right.subarray(1000)])),
      ...stereo.flush(),
    ]);
    const mono = [left, right].map((pcm) => {
      const encoder = createWireEncoder("mulaw");
      return joined([...encoder.encode(pcm), ...encoder.flush()]);
    });
    assert.equal(bytes.length, 3200, "8 kHz: one byte per 2 samples, per channel");
    assert.deepEqual(Array.from(bytes.filter((_, i) => i % 2 === 0)), Array.from(mono[0] ?? []));
    assert.deepEqual(Array.from(bytes.filter((_, i) => i % 2 === 1)), Array.from(mono[1] ?? []));
  });

  test("PCM16 goes as is; Opus carries one channel", () => {
    const frames = Int16Array.from([1, -1, 2, -2]);
    const [payload] = createWireEncoder("pcm_s16le", undefined, 2).encode(frames);
    assert.deepEqual(Array.from(payload ?? []), Array.from(new Uint8Array(frames.buffer)));
    assert.throws(() => createWireEncoder("opus", undefined, 2), RangeError);
  });
});
