import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { splitChannels } from "./interleaved-audio.js";

describe("splitChannels", () => {
  it("pcm_s16le: sample by sample, even from an odd byte offset; positions count frames", () => {
    const frames = Int16Array.from([1, -1, 2, -2, 3, -3]);
    const bytes = new Uint8Array(frames.byteLength + 1);
    bytes.set(new Uint8Array(frames.buffer), 1);
    const split = splitChannels(bytes.subarray(1), "pcm_s16le");
    assert.ok(split.ok);
    const [left, right] = split.channels.map((c) =>
      Array.from(new Int16Array(c.buffer, c.byteOffset, c.byteLength / 2)),
    );
    assert.deepEqual(left, [1, 2, 3]);
    assert.deepEqual(right, [-1, -2, -3]);
    assert.equal(split.positions, 3);
  });

  it("G.711: byte by byte; two 16 kHz positions a byte", () => {
    const split = splitChannels(Uint8Array.from([10, 20, 11, 21]), "mulaw");
    assert.ok(split.ok);
    assert.deepEqual(
      split.channels.map((c) => Array.from(c)),
      [
        [10, 11],
        [20, 21],
      ],
    );
    assert.equal(split.positions, 4);
  });

  it("refuses a message that ends inside a frame", () => {
    for (const [length, encoding] of [
      [6, "pcm_s16le"],
      [2, "pcm_s16le"],
      [3, "alaw"],
    ] as const) {
      const split = splitChannels(new Uint8Array(length), encoding);
      assert.equal(split.ok, false, `${length} bytes of ${encoding}`);
      if (!split.ok) assert.match(split.message, /whole frames/);
    }
  });
});
