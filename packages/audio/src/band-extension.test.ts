import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BandExtender } from "./band-extension.js";
import { Resampler } from "./resample.js";

/** Tones at 8 kHz, upsampled to 16 kHz by the resampler: telephone audio as the server has it. */
function telephoneTones(hz: readonly number[], seconds: number, amplitude: number): Int16Array {
  const input = new Float32Array(8000 * seconds);
  for (let i = 0; i < input.length; i++) {
    for (const f of hz) input[i] = (input[i] as number) + amplitude * Math.sin((2 * Math.PI * f * i) / 8000);
  }
  const resampler = new Resampler({ inputRate: 8000 });
  const body = resampler.push(input);
  const tail = resampler.flush();
  const out = new Int16Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

/** Amplitude of the component at `hz` (Goertzel over the middle 80%, away from the edges). */
function amplitudeAt(samples: Int16Array, hz: number): number {
  const from = Math.floor(samples.length * 0.1);
  const to = Math.floor(samples.length * 0.9);
  const w = (2 * Math.PI * hz) / 16000;
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += (samples[i] as number) * Math.cos(w * i);
    im -= (samples[i] as number) * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}

/** Energy of the band [loHz, hiHz) in a Hann-windowed block from the middle (a plain DFT). */
function bandEnergy(samples: Int16Array, loHz: number, hiHz: number): number {
  const size = 1600;
  const from = Math.floor((samples.length - size) / 2);
  let energy = 0;
  for (let bin = Math.ceil((loHz * size) / 16000); bin < (hiHz * size) / 16000; bin++) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < size; i++) {
      const x = (samples[from + i] as number) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
      re += x * Math.cos((2 * Math.PI * bin * i) / size);
      im -= x * Math.sin((2 * Math.PI * bin * i) / size);
    }
    energy += re * re + im * im;
  }
  return energy;
}

/** Seeded white noise at 8 kHz, upsampled to 16 kHz: a telephone signal with a flat baseband. */
function telephoneNoise(seconds: number): Int16Array {
  let state = 12345;
  const input = new Float32Array(8000 * seconds);
  for (let i = 0; i < input.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    input[i] = (state / 2 ** 32 - 0.5) * 0.4;
  }
  const resampler = new Resampler({ inputRate: 8000 });
  const body = resampler.push(input);
  const out = new Int16Array(body.length);
  out.set(body);
  return out;
}

const dB = (ratio: number) => 20 * Math.log10(ratio);

function extended(samples: Int16Array, gainDb: number, chunks?: Iterable<number>): Int16Array {
  const copy = samples.slice();
  const extender = new BandExtender({ gainDb });
  if (!chunks) return extender.process(copy);
  let at = 0;
  for (const size of chunks) {
    if (at >= copy.length) break;
    extender.process(copy.subarray(at, at + size));
    at += size;
  }
  extender.process(copy.subarray(at));
  return copy;
}

describe("BandExtender", () => {
  test("puts the mirror image of each tone at 8 kHz − f, at the set gain at 4 kHz and tilted down from there", () => {
    const pcm = telephoneTones([700, 2300, 3500], 1, 0.2);
    // The first difference's gain at f, relative to its gain at 4 kHz.
    const tilt = (hz: number) => dB(Math.SQRT2 * Math.sin((Math.PI * hz) / 16000));
    assert.ok(Math.abs(tilt(2000) + 5.3) < 0.1 && Math.abs(tilt(1000) + 11.2) < 0.1, "as documented");
    for (const gainDb of [0, -5, -10, -20]) {
      const out = extended(pcm, gainDb);
      for (const hz of [700, 2300, 3500]) {
        const base = amplitudeAt(out, hz);
        assert.ok(Math.abs(dB(base / amplitudeAt(pcm, hz))) < 0.05, `baseband at ${hz} Hz unchanged`);
        const image = dB(amplitudeAt(out, 8000 - hz) / base);
        assert.ok(Math.abs(image - gainDb - tilt(hz)) < 0.1, `image of ${hz} Hz at ${image.toFixed(2)} dB`);
      }
    }
  });

  test("fills the empty 4–8 kHz band of upsampled 8 kHz audio, by the set gain", () => {
    const pcm = telephoneNoise(1);
    const upperDb = (samples: Int16Array) =>
      10 * Math.log10(bandEnergy(samples, 4000, 8000) / bandEnergy(samples, 0, 4000));
    assert.ok(upperDb(pcm) < -60, "empty before");
    // White baseband: the tilted image holds 1 − 2/π of its energy (−4.4 dB) at 0 dB, less with
    // the upsampler's roll-off above 3.6 kHz.
    const at0 = upperDb(extended(pcm, 0));
    assert.ok(at0 > -5.5 && at0 < -4.4, `upper band at ${at0.toFixed(2)} dB`);
    for (const gainDb of [-5, -10, -15]) {
      const ratio = upperDb(extended(pcm, gainDb));
      assert.ok(Math.abs(ratio - at0 - gainDb) < 0.2, `upper band at ${ratio.toFixed(2)} dB for ${gainDb} dB`);
    }
  });

  test("gives the same samples in any chunking, odd chunks included", () => {
    const pcm = telephoneTones([440, 1900], 2, 0.3);
    const whole = extended(pcm, -7);
    for (const sizes of [[1], [3, 7, 1, 160], [319, 320, 321], [2]]) {
      const cycle = function* () {
        for (;;) yield* sizes;
      };
      assert.deepEqual(extended(pcm, -7, cycle()), whole, `chunks of ${sizes.join(", ")}`);
    }
  });

  test("a stream continued at a later position keeps the image's sign, from silence", () => {
    const pcm = telephoneTones([1000], 1, 0.3);
    for (const startSample of [1, 2, 4801]) {
      const rest = pcm.slice(startSample);
      new BandExtender({ gainDb: -10, startSample }).process(rest);
      // As if the audio before had been silence: the same as the whole run with it zeroed.
      const silent = pcm.slice();
      silent.fill(0, 0, startSample);
      assert.deepEqual(rest, extended(silent, -10).subarray(startSample));
    }
  });

  test("clips instead of wrapping around", () => {
    // At 0 dB: x[n] ± (x[n] − x[n−1])/√2, + at even positions.
    const loud = new Int16Array([30000, 30000, -30000, 0]);
    const out = new BandExtender({ gainDb: 0 }).process(loud);
    assert.deepEqual([...out], [32767, 30000, -32768, -21213]);
  });

  test("refuses gains outside −60..0 dB", () => {
    for (const gainDb of [1, -61, Number.NaN]) {
      assert.throws(() => new BandExtender({ gainDb }), RangeError);
    }
  });
});
