import assert from "node:assert/strict";
import { test } from "node:test";
import OpusScript from "opusscript";
import { AudioFormatError } from "./errors.js";
import { MAX_OPUS_PACKET_BYTES, OPUS_LOOKAHEAD_SAMPLES, OpusDecoder, OpusEncoder } from "./opus.js";
import { concatPcm } from "./pcm.js";

const FRAME = 320; // 20 ms at 16 kHz

/** A voiced-speech-like signal: 140 Hz with harmonics, slowly modulated, plus a little noise. */
function voice(samples: number): Int16Array {
  let seed = 7;
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff - 0.5;
  };
  return Int16Array.from({ length: samples }, (_, n) => {
    const t = n / 16_000;
    let x = 0;
    for (let h = 1; h <= 8; h++) x += Math.sin(2 * Math.PI * 140 * h * t) / h;
    return Math.round(6000 * x * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) + 300 * noise());
  });
}

function encodeAll(encoder: OpusEncoder, pcm: Int16Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  for (let at = 0; at + FRAME <= pcm.length; at += FRAME) packets.push(encoder.encode(pcm.subarray(at, at + FRAME)));
  return packets;
}

/** Normalized correlation of `a` with `b` delayed by `lag` samples, over the middle of the signal. */
function correlation(a: Int16Array, b: Int16Array, lag: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 1600; i + lag < b.length && i < a.length - 1600; i++) {
    const x = a[i] as number;
    const y = b[i + lag] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

test("opus: 20 ms packets decode to 20 ms each and follow the input waveform", () => {
  const input = voice(16_000);
  const encoder = new OpusEncoder();
  const decoder = new OpusDecoder();
  const packets = encodeAll(encoder, input);
  assert.equal(packets.length, 50);
  const decoded = packets.map((packet) => decoder.decode(packet));
  for (const frame of decoded) assert.equal(frame.length, FRAME);
  const output = concatPcm(...decoded);
  // The codec delays the signal by its lookahead (a few ms): find it, then the waveform must follow
  // (a speech codec keeps the spectrum more than the exact waveform; unrelated audio scores ≈ 0).
  const scores = Array.from({ length: 320 }, (_, lag) => correlation(input, output, lag));
  const best = Math.max(...scores);
  assert.ok(best > 0.8, `correlation ${best}`);
  // libopus's lookahead at 16 kHz: 2.5 ms + 4 ms of delay compensation (what the server skips).
  assert.equal(Math.abs(scores.indexOf(best) - OPUS_LOOKAHEAD_SAMPLES) <= 2, true, `lag ${scores.indexOf(best)}`);
  const energy = (pcm: Int16Array) => pcm.reduce((sum, x) => sum + x * x, 0);
  const ratio = energy(output) / energy(input);
  assert.ok(ratio > 0.7 && ratio < 1.3, `energy ratio ${ratio}`);
  encoder.close();
  decoder.close();
});

test("opus: the bitrate setting sets the size of the packets", () => {
  const input = voice(48_000);
  const bytesPerSecond = (bitrate: number) => {
    const encoder = new OpusEncoder({ bitrate });
    const bytes = encodeAll(encoder, input).reduce((n, p) => n + p.byteLength, 0);
    encoder.close();
    return bytes / 3;
  };
  const low = bytesPerSecond(12_000);
  const high = bytesPerSecond(32_000);
  assert.ok(low > 800 && low < 2000, `12 kbit/s gave ${low} B/s`);
  assert.ok(high > 2 * low, `32 kbit/s gave ${high} B/s, 12 kbit/s ${low} B/s`);
});

test("opus: the wrapper's calls give exactly what opusscript's own encode/decode give", () => {
  const input = voice(3200);
  const ours = new OpusEncoder({ bitrate: 20_000, complexity: 5 });
  const theirs = new OpusScript(16_000, 1, OpusScript.Application.VOIP);
  theirs.setBitrate(20_000);
  theirs.encoderCTL(4010, 5);
  const theirDecoder = new OpusScript(16_000, 1, OpusScript.Application.VOIP);
  const ourDecoder = new OpusDecoder();
  for (let at = 0; at < input.length; at += FRAME) {
    const frame = input.subarray(at, at + FRAME);
    const packet = ours.encode(frame);
    assert.deepEqual(Buffer.from(packet), theirs.encode(Buffer.from(frame.buffer, frame.byteOffset, 640), FRAME));
    const decoded = ourDecoder.decode(packet);
    const reference = theirDecoder.decode(Buffer.from(packet));
    assert.deepEqual(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength), reference);
  }
  theirs.delete();
  theirDecoder.delete();
});

test("opus: a packet libopus rejects throws invalid_opus_packet and the decoder carries on", () => {
  const decoder = new OpusDecoder();
  const invalid = [
    Uint8Array.of(0x01, 0x00), // code 1 (two equal frames) with an odd payload
    Uint8Array.of(0xfb, 0xff), // code 3 with 63 frames: over 120 ms
    new Uint8Array(0),
    new Uint8Array(MAX_OPUS_PACKET_BYTES + 1),
  ];
  for (const packet of invalid) {
    assert.throws(
      () => decoder.decode(packet),
      (error: unknown) => error instanceof AudioFormatError && error.code === "invalid_opus_packet",
      `packet ${[...packet.subarray(0, 2)]} (${packet.length} bytes)`,
    );
  }
  const encoder = new OpusEncoder();
  assert.equal(decoder.decode(encoder.encode(voice(FRAME))).length, FRAME);
});

test("opus: frames must be an Opus frame size; a closed codec refuses work", () => {
  const encoder = new OpusEncoder();
  assert.throws(() => encoder.encode(new Int16Array(300)), RangeError);
  assert.equal(encoder.encode(new Int16Array(160)).byteLength > 0, true); // 10 ms
  encoder.close();
  encoder.close();
  assert.throws(() => encoder.encode(new Int16Array(FRAME)), /closed/);
  const decoder = new OpusDecoder();
  decoder.close();
  assert.throws(() => decoder.decode(Uint8Array.of(0xf8)), /closed/);
  assert.throws(() => new OpusEncoder({ sampleRate: 44_100 as 48_000 }), RangeError);
});
