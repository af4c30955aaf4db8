import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { interleavePcm, mulawDecode, mulawEncode, Resampler } from "@earshot/audio";
import { ListenAudio } from "./listen-audio.js";

const bytesOf = (samples: Int16Array) => new Uint8Array(samples.buffer.slice(0));
const samplesOf = (bytes: Uint8Array) =>
  new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
const tone = (length: number, step: number) =>
  Int16Array.from({ length }, (_, i) => Math.round(8000 * Math.sin(i * step)));
const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((part) => Buffer.from(part)));

/** Feeds `bytes` cut at the given sizes; returns what each output got, joined. */
function feed(audio: ListenAudio, bytes: Uint8Array, cuts: number[]): Buffer[] {
  const outputs: Uint8Array[][] = Array.from({ length: audio.outputs }, () => []);
  let at = 0;
  let cut = 0;
  while (at < bytes.length) {
    const size = cuts[cut++ % cuts.length] as number;
    for (const [index, part] of audio.push(bytes.subarray(at, at + size)).entries()) outputs[index]?.push(part);
    at += size;
  }
  for (const [index, part] of audio.flush().entries()) outputs[index]?.push(part);
  return outputs.map(concat);
}

describe("ListenAudio", () => {
  it("passes mono 16 kHz linear16 through unchanged, however it is cut", () => {
    const pcm = bytesOf(tone(1000, 0.1));
    const audio = new ListenAudio({ encoding: "linear16", sampleRate: 16_000, channels: 1, multichannel: false });
    assert.equal(audio.sessionEncoding, "pcm_s16le");
    assert.deepEqual(feed(audio, pcm, [3, 1, 400, 7]), [Buffer.from(pcm)]);
  });

  it("splits interleaved channels for multichannel, and mixes them down otherwise", () => {
    const left = tone(800, 0.05);
    const right = tone(800, 0.2);
    const stereo = bytesOf(interleavePcm([left, right]));
    const split = new ListenAudio({ encoding: "linear16", sampleRate: 16_000, channels: 2, multichannel: true });
    assert.equal(split.outputs, 2);
    const [one, two] = feed(split, stereo, [5, 301, 2]);
    assert.deepEqual(samplesOf(one as Buffer), left);
    assert.deepEqual(samplesOf(two as Buffer), right);
    const mixed = new ListenAudio({ encoding: "linear16", sampleRate: 16_000, channels: 2, multichannel: false });
    const [mono] = feed(mixed, stereo, [999]);
    const expected = Int16Array.from(left, (l, i) => Math.round((l + (right[i] as number)) / 2));
    const got = samplesOf(mono as Buffer);
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs((got[i] as number) - (expected[i] as number)) <= 1);
  });

  it("resamples other linear16 rates to 16 kHz, exactly as one resampler run over the whole", () => {
    const pcm = tone(4410, 0.07);
    const audio = new ListenAudio({ encoding: "linear16", sampleRate: 44_100, channels: 1, multichannel: false });
    const [out] = feed(audio, bytesOf(pcm), [17, 1000, 3]);
    const resampler = new Resampler({ inputRate: 44_100 });
    const whole = [...resampler.push(pcm), ...resampler.flush()];
    assert.deepEqual([...samplesOf(out as Buffer)], whole);
    assert.equal(audio.receivedMs, 100);
  });

  it("band-extends linear16 at 8 kHz only when asked", () => {
    const pcm = bytesOf(tone(800, 0.3));
    const plain = feed(
      new ListenAudio({ encoding: "linear16", sampleRate: 8000, channels: 1, multichannel: false }),
      pcm,
      [160],
    );
    const extended = feed(
      new ListenAudio({ encoding: "linear16", sampleRate: 8000, channels: 1, multichannel: false, bandExtensionDb: 0 }),
      pcm,
      [160],
    );
    assert.equal(plain[0]?.length, extended[0]?.length);
    assert.notDeepEqual(plain, extended);
  });

  it("passes mono G.711 through, splits several channels, and mixes them into G.711 again", () => {
    const left = mulawEncode(tone(400, 0.1));
    const right = mulawEncode(tone(400, 0.3));
    const mono = new ListenAudio({ encoding: "mulaw", sampleRate: 8000, channels: 1, multichannel: false });
    assert.equal(mono.sessionEncoding, "mulaw");
    assert.deepEqual(feed(mono, left, [33]), [Buffer.from(left)]);
    const interleaved = new Uint8Array(800);
    for (let i = 0; i < 400; i++) {
      interleaved[2 * i] = left[i] as number;
      interleaved[2 * i + 1] = right[i] as number;
    }
    const split = new ListenAudio({ encoding: "mulaw", sampleRate: 8000, channels: 2, multichannel: true });
    assert.deepEqual(feed(split, interleaved, [7, 3]), [Buffer.from(left), Buffer.from(right)]);
    const mixed = new ListenAudio({ encoding: "mulaw", sampleRate: 8000, channels: 2, multichannel: false });
    const [out] = feed(mixed, interleaved, [101]);
    assert.equal(out?.length, 400);
    const decoded = mulawDecode(out as Buffer);
    const l = mulawDecode(left);
    const r = mulawDecode(right);
    for (let i = 0; i < 400; i++) {
      const expected = ((l[i] as number) + (r[i] as number)) / 2;
      assert.ok(Math.abs((decoded[i] as number) - expected) <= Math.abs(expected) / 8 + 8, `sample ${i}`);
    }
  });

  it("passes Opus packets whole", () => {
    const audio = new ListenAudio({ encoding: "opus", sampleRate: 48_000, channels: 1, multichannel: false });
    const packet = new Uint8Array([1, 2, 3]);
    assert.deepEqual(audio.push(packet), [packet]);
    assert.deepEqual(audio.flush(), []);
  });
});
