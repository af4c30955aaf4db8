import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AudioFormatError } from "./errors.js";
import { deinterleavePcm, interleavePcm } from "./pcm.js";
import { toMono16k } from "./resample.js";
import { readWav, writeWav } from "./wav.js";
import { WavStreamReader, WavStreamTo16k } from "./wav-stream.js";

/** A deterministic pseudo-random sequence (LCG). */
function* lcg(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1664525 + 1013904223) >>> 0;
    yield state / 2 ** 32;
  }
}

/** `bytes` cut at random places into pieces of 1 to `max` bytes. */
function split(bytes: Uint8Array, seed: number, max: number): Uint8Array[] {
  const random = lcg(seed);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor((random.next().value as number) * max);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function noise(frames: number, seed: number): Int16Array {
  const random = lcg(seed);
  return Int16Array.from({ length: frames }, () => Math.round(((random.next().value as number) - 0.5) * 20_000));
}

/** A 24-bit stereo WAV with a LIST chunk of odd size (and its pad byte) before `data`. */
function wav24WithList(sampleRate: number, frames: number): Uint8Array {
  const list = new TextEncoder().encode("LIST\x05\x00\x00\x00INFOx\x00");
  const dataBytes = frames * 2 * 3;
  const bytes = new Uint8Array(36 + list.length + 8 + dataBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (at: number, text: string) => bytes.set(new TextEncoder().encode(text), at);
  ascii(0, "RIFF");
  view.setUint32(4, 0xffffffff, true); // as a writer on a pipe leaves it
  ascii(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 2, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 6, true);
  view.setUint16(32, 6, true);
  view.setUint16(34, 24, true);
  bytes.set(list, 36);
  ascii(36 + list.length, "data");
  view.setUint32(40 + list.length, dataBytes, true);
  const random = lcg(7);
  for (let i = 0; i < frames * 2; i++) {
    const sample = Math.round(((random.next().value as number) - 0.5) * 8_000_000);
    const at = 44 + list.length + i * 3;
    view.setUint8(at, sample & 0xff);
    view.setUint8(at + 1, (sample >> 8) & 0xff);
    view.setInt8(at + 2, sample >> 16);
  }
  return bytes;
}

/** Everything the reader returns for `pieces`, joined per channel, as float. */
function readPieces(pieces: Uint8Array[]): Float32Array[] {
  const reader = new WavStreamReader();
  const parts: (Int16Array | Float32Array)[][] = [];
  for (const piece of pieces) {
    const channels = reader.push(piece);
    if (channels.length > 0) parts.push(channels);
  }
  reader.end();
  const count = parts[0]?.length ?? 0;
  return Array.from({ length: count }, (_, c) => {
    const joined = parts.flatMap((p) => Array.from(p[c] as Int16Array | Float32Array));
    const scale = parts[0]?.[c] instanceof Int16Array ? 1 / 32768 : 1;
    return Float32Array.from(joined, (x) => x * scale);
  });
}

describe("WavStreamReader", () => {
  const cases: [string, Uint8Array][] = [
    ["16-bit stereo 44.1 kHz", writeWav(44_100, [noise(5000, 1), noise(5000, 2)])],
    ["24-bit stereo 48 kHz with a LIST chunk", wav24WithList(48_000, 4000)],
  ];
  for (const [name, bytes] of cases) {
    test(`${name}: any split of the bytes gives the samples readWav gives`, () => {
      const whole = readWav(bytes).samples;
      for (const [seed, max] of [
        [1, 1],
        [2, 7],
        [3, 100],
        [4, 5000],
      ] as const) {
        assert.deepEqual(readPieces(split(bytes, seed, max)), whole, `seed ${seed}, pieces up to ${max} bytes`);
      }
    });
  }

  test("reads on through a new header where the declared data ends (arecord every 2 GiB)", () => {
    // arecord --max-file-time 1 to stdout writes exactly this: WAV after WAV, each with its size.
    const parts = [noise(3000, 11), noise(3000, 12), noise(1234, 13)];
    const stream = concatBytes(parts.map((p) => writeWav(16_000, [p])));
    const expected = [
      Float32Array.from(
        parts.flatMap((p) => Array.from(p)),
        (x) => x / 32768,
      ),
    ];
    for (const max of [1, 50, 4000, 20_000]) assert.deepEqual(readPieces(split(stream, max, max)), expected);
  });

  test("a declared size that is only a guess (sox on a pipe) does not cut the audio", () => {
    const samples = noise(4000, 14);
    const bytes = writeWav(16_000, [samples]);
    new DataView(bytes.buffer).setUint32(40, 1000, true); // 500 frames declared, 4000 there
    assert.deepEqual(readPieces(split(bytes, 5, 700)), [Float32Array.from(samples, (x) => x / 32768)]);
  });

  test("a stream whose format changes midway is refused", () => {
    const stream = concatBytes([writeWav(16_000, [noise(10, 1)]), writeWav(48_000, [noise(10, 2)])]);
    assert.throws(() => new WavStreamReader().push(stream), /changed its format midway/);
  });

  test("says nothing until the data chunk, then reports the format", () => {
    const reader = new WavStreamReader();
    const bytes = wav24WithList(22_050, 10);
    assert.deepEqual(reader.push(bytes.subarray(0, 40)), []);
    assert.equal(reader.info, undefined);
    reader.push(bytes.subarray(40));
    assert.deepEqual(reader.info, { sampleRate: 22_050, channels: 2, encoding: "pcm", bitsPerSample: 24 });
  });

  test("rejects bytes that are not WAV, and a stream that ends inside the header", () => {
    assert.throws(
      () => new WavStreamReader().push(new TextEncoder().encode("ID3\x04 not a wav file")),
      (e) => e instanceof AudioFormatError && e.code === "invalid_wav",
    );
    const reader = new WavStreamReader();
    reader.push(writeWav(16_000, [noise(10, 3)]).subarray(0, 30));
    assert.throws(() => reader.end(), /ended before its data chunk/);
  });
});

describe("WavStreamTo16k", () => {
  test("chunked conversion equals the whole-buffer conversion (44.1 kHz stereo)", () => {
    const bytes = writeWav(44_100, [noise(44_100, 4), noise(44_100, 5)]);
    const whole = readWav(bytes);
    const expected = toMono16k({ sampleRate: whole.sampleRate, channels: whole.samples });
    const converter = new WavStreamTo16k();
    const out: number[] = [];
    for (const piece of split(bytes, 9, 3000)) out.push(...converter.push(piece));
    out.push(...converter.end());
    assert.equal(converter.info?.sampleRate, 44_100);
    assert.equal(out.length, 16_000);
    assert.deepEqual(Int16Array.from(out), expected);
  });

  test("channels: keep gives each channel resampled on its own, interleaved", () => {
    const left = noise(44_100, 6);
    const right = noise(44_100, 7);
    const bytes = writeWav(44_100, [left, right]);
    const converter = new WavStreamTo16k({ channels: "keep" });
    const out: number[] = [];
    for (const piece of split(bytes, 11, 3000)) out.push(...converter.push(piece));
    out.push(...converter.end());
    const expected = [left, right].map((c) => toMono16k({ sampleRate: 44_100, channels: [c] }));
    assert.deepEqual(Int16Array.from(out), interleavePcm(expected));
    assert.deepEqual(deinterleavePcm(Int16Array.from(out), 2), expected);
  });
});
