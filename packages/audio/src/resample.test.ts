import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Resampler, toMono16k } from "./resample.js";

function tone(sampleRate: number, hz: number, seconds: number, amplitude: number): Float32Array {
  const out = new Float32Array(Math.round(sampleRate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate);
  return out;
}

/** RMS of the middle of the signal, away from the start/end transients. */
function rms(samples: Int16Array | Float32Array, scale = 1): number {
  const from = Math.floor(samples.length * 0.1);
  const to = Math.floor(samples.length * 0.9);
  let sum = 0;
  for (let i = from; i < to; i++) sum += ((samples[i] as number) * scale) ** 2;
  return Math.sqrt(sum / (to - from));
}

function zeroCrossings(samples: Int16Array): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) {
    if ((samples[i - 1] as number) < 0 !== (samples[i] as number) < 0) crossings++;
  }
  return crossings;
}

const dB = (ratio: number) => 20 * Math.log10(ratio);

/** Gain in dB of a tone at `hz` through a `rate` → 16 kHz conversion. */
function gainDb(rate: number, hz: number): number {
  const input = tone(rate, hz, 1, 0.5);
  const output = toMono16k({ sampleRate: rate, channels: [input] });
  return dB(rms(output, 1 / 32768) / rms(input));
}

/** A deterministic pseudo-random sequence (LCG), for chunk sizes. */
function* lcg(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1664525 + 1013904223) >>> 0;
    yield state / 2 ** 32;
  }
}

describe("toMono16k", () => {
  test("a 1 kHz stereo tone at 44.1 kHz keeps its frequency and amplitude", () => {
    const left = tone(44_100, 1000, 2, 0.5);
    const right = tone(44_100, 1000, 2, 0.5);
    const output = toMono16k({ sampleRate: 44_100, channels: [left, right] });
    assert.equal(output.length, 32_000);
    // 1 kHz for 2 s: 4000 zero crossings (±1 at the ends).
    assert.ok(Math.abs(zeroCrossings(output) - 4000) <= 2, `crossings ${zeroCrossings(output)}`);
    const gain = dB(rms(output, 1 / 32768) / rms(left));
    assert.ok(Math.abs(gain) < 1, `gain ${gain.toFixed(2)} dB`);
  });

  test("averages channels when downmixing", () => {
    const left = tone(44_100, 1000, 1, 0.5);
    const silent = new Float32Array(left.length);
    const gain = dB(rms(toMono16k({ sampleRate: 44_100, channels: [left, silent] }), 1 / 32768) / rms(left));
    assert.ok(Math.abs(gain - dB(0.5)) < 0.2, `gain ${gain.toFixed(2)} dB`);
  });

  test("passes the speech band flat (±0.1 dB up to 7.2 kHz at 48 kHz)", () => {
    for (const hz of [300, 3000, 7000]) {
      const gain = gainDb(48_000, hz);
      assert.ok(Math.abs(gain) < 0.1, `${hz} Hz: ${gain.toFixed(3)} dB`);
    }
  });

  test("attenuates a 7.5 kHz tone at 48 kHz (transition band, cutoff −6 dB at 7.6 kHz)", () => {
    const gain = gainDb(48_000, 7500);
    assert.ok(gain < -1 && gain > -10, `gain ${gain.toFixed(2)} dB`);
  });

  test("removes a 10 kHz tone at 48 kHz instead of aliasing it to 6 kHz (> 40 dB)", () => {
    const gain = gainDb(48_000, 10_000);
    assert.ok(gain < -40, `gain ${gain.toFixed(2)} dB`);
  });

  test("upsamples 8 kHz to 16 kHz without images", () => {
    const input = tone(8000, 1000, 1, 0.5);
    const output = toMono16k({ sampleRate: 8000, channels: [input] });
    assert.equal(output.length, 16_000);
    assert.ok(Math.abs(dB(rms(output, 1 / 32768) / rms(input))) < 0.1);
    assert.ok(Math.abs(zeroCrossings(output) - 2000) <= 2);
  });

  test("16 kHz mono Int16 input passes through untouched", () => {
    const input = Int16Array.from({ length: 1000 }, (_, i) => (i * 37) % 2000);
    assert.deepEqual(toMono16k({ sampleRate: 16_000, channels: [input] }), input);
  });
});

describe("Resampler", () => {
  for (const rate of [44_100, 48_000, 8000, 22_050, 44_056]) {
    test(`streaming in random chunks equals one shot (${rate} Hz)`, () => {
      const input = tone(rate, 440, 1.3, 0.3);
      for (let i = 0; i < input.length; i += 97) input[i] = 0.9; // clicks: broadband content
      const oneShot = toMono16k({ sampleRate: rate, channels: [input] });
      const resampler = new Resampler({ inputRate: rate });
      const pieces: Int16Array[] = [];
      const random = lcg(rate);
      for (let at = 0; at < input.length; ) {
        const size = Math.floor((random.next().value as number) * 3000);
        pieces.push(resampler.push(input.subarray(at, at + size)));
        at += size;
      }
      pieces.push(resampler.flush());
      const streamed = new Int16Array(pieces.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const piece of pieces) {
        streamed.set(piece, offset);
        offset += piece.length;
      }
      assert.equal(streamed.length, Math.ceil((input.length * 16_000) / rate));
      assert.deepEqual(streamed, oneShot);
    });
  }

  test("is reusable after flush", () => {
    const input = tone(48_000, 1000, 0.5, 0.5);
    const resampler = new Resampler({ inputRate: 48_000 });
    const first = [...resampler.push(input), ...resampler.flush()];
    const second = [...resampler.push(input), ...resampler.flush()];
    assert.deepEqual(second, first);
  });

  test("rejects non-integer rates", () => {
    assert.throws(() => new Resampler({ inputRate: 0 }), RangeError);
    assert.throws(() => new Resampler({ inputRate: 44_100.5 }), RangeError);
  });
});
