import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { concatPcm, interleavePcm, mulawDecode, mulawEncode, toMono16k } from "@earshot/audio";
import { ChannelSplitter } from "./channel-splitter.js";

/** A deterministic pseudo-random signal (LCG). */
function noise(length: number, seed: number): Int16Array {
  let state = seed;
  return Int16Array.from({ length }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return Math.round((state / 2 ** 32 - 0.5) * 20_000);
  });
}

/** Everything `splitter` gives for `pieces`, then its flush, joined per channel. */
function run(splitter: ChannelSplitter, pieces: readonly (Int16Array | Uint8Array | Float32Array)[]): Int16Array[] {
  const out: Int16Array[][] = Array.from({ length: splitter.channels }, () => []);
  for (const piece of [...pieces.map((p) => splitter.push(p)), splitter.flush()]) {
    for (const [c, pcm] of piece.entries()) out[c]?.push(pcm);
  }
  return out.map((parts) => concatPcm(...parts));
}

/** `data` cut into pieces of the given sizes, repeated to the end. */
function cut<T extends Int16Array | Uint8Array | Float32Array>(data: T, sizes: readonly number[]): T[] {
  const pieces: T[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length] as number;
    pieces.push(data.subarray(at, at + size) as T);
    at += size;
  }
  return pieces;
}

describe("ChannelSplitter", () => {
  const left = noise(1600, 1);
  const right = noise(1600, 2);
  const stereo = interleavePcm([left, right]);

  test("16 kHz PCM16 samples split at any place, even inside a frame, give each channel exactly", () => {
    assert.deepEqual(run(new ChannelSplitter(2), [stereo]), [left, right]);
    assert.deepEqual(run(new ChannelSplitter(2), cut(stereo, [1, 7, 320, 3])), [left, right]);
  });

  test("PCM16LE bytes split inside a sample, and Float32 samples, give the same", () => {
    const bytes = new Uint8Array(stereo.buffer.slice(0));
    assert.deepEqual(run(new ChannelSplitter(2), cut(bytes, [3, 641, 5])), [left, right]);
    const floats = Float32Array.from(stereo, (x) => x / 32768);
    assert.deepEqual(run(new ChannelSplitter(2), cut(floats, [99, 2])), [left, right]);
  });

  test("three channels; one channel is a plain copy", () => {
    const third = noise(1600, 3);
    assert.deepEqual(run(new ChannelSplitter(3), cut(interleavePcm([left, right, third]), [5, 1000])), [
      left,
      right,
      third,
    ]);
    assert.deepEqual(run(new ChannelSplitter(1), cut(left, [17])), [left]);
  });

  test("another rate is resampled per channel, the same however it is chunked", () => {
    const l48 = noise(4800, 4);
    const r48 = noise(4800, 5);
    const expected = [l48, r48].map((c) => toMono16k({ sampleRate: 48_000, channels: [c] }));
    const splitter = new ChannelSplitter(2, { sampleRate: 48_000 });
    assert.deepEqual(run(splitter, cut(interleavePcm([l48, r48]), [333, 1, 960])), expected);
    assert.equal(expected[0]?.length, 1600);
  });

  test("G.711 channels interleaved byte by byte: decoded, upsampled from 8 kHz", () => {
    const l8 = mulawEncode(noise(800, 6));
    const r8 = mulawEncode(noise(800, 7));
    const bytes = new Uint8Array(1600);
    for (let i = 0; i < 800; i++) {
      bytes[2 * i] = l8[i] as number;
      bytes[2 * i + 1] = r8[i] as number;
    }
    const expected = [l8, r8].map((c) => toMono16k({ sampleRate: 8000, channels: [mulawDecode(c)] }));
    const splitter = new ChannelSplitter(2, { encoding: "mulaw" });
    assert.equal(splitter.sampleRate, 8000);
    assert.deepEqual(run(splitter, cut(bytes, [3, 160, 1])), expected);
    assert.throws(() => splitter.push(new Int16Array(2)), TypeError);
  });

  test("refuses a channel count or rate that is not a positive integer", () => {
    assert.throws(() => new ChannelSplitter(0), RangeError);
    assert.throws(() => new ChannelSplitter(1.5), RangeError);
    assert.throws(() => new ChannelSplitter(2, { sampleRate: -1 }), RangeError);
  });
});
