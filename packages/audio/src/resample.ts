/**
 * Resampling to the wire format: 16 kHz mono PCM16.
 *
 * Why not a library: the well-kept resamplers on npm are either asynchronous WASM builds of
 * libsamplerate (`@alexanderolsen/libsamplerate-js` must `await create()` before the first sample, so
 * it cannot back a synchronous `push`) or Node-only native/ffmpeg bindings, and this package must run
 * synchronously in Node and in browsers. The polyphase windowed-sinc below is the textbook design
 * (the one libsamplerate's "sinc" converters and SoX use), small enough to own.
 *
 * Filter (Kaiser-windowed sinc, per output sample rate change):
 * - band edges relative to the lower Nyquist frequency `nyq = min(inRate, outRate) / 2`:
 *   passband up to 0.90·nyq, stopband from 1.00·nyq, cutoff (−6 dB) at 0.95·nyq.
 *   For 48 kHz → 16 kHz: flat to 7.2 kHz, −6 dB at 7.6 kHz, ≥ 80 dB down from 8 kHz (anything
 *   that would alias).
 * - 80 dB stopband attenuation: Kaiser β = 0.1102·(80 − 8.7) ≈ 7.86.
 * - length from Kaiser's formula, N = (A − 7.95) / (2.285·Δω) taps at the input rate, where Δω is the
 *   transition width (0.1·nyq) in radians per input sample: 301 taps for 48 kHz, 277 for 44.1 kHz,
 *   101 for 8 kHz → 16 kHz.
 * - polyphase: one row of taps per fractional position `p / L` for a rate ratio `M / L` in lowest
 *   terms (L = 160 for 44.1 kHz); above MAX_PHASES rows (odd rates) rows are linearly interpolated.
 *   Each row is normalized to unit DC gain.
 *
 * Timing: output sample n is the input at time n·inRate/outRate (zero phase, no added delay); audio
 * before the start and after `flush()` counts as silence. Streaming is exact: the state is the
 * input history, so any chunking of the same input gives the same samples as one call.
 */
import { downmixToFloat, floatSampleToInt16 } from "./pcm.js";

export const TARGET_SAMPLE_RATE = 16_000;

const STOPBAND_DB = 80;
const PASSBAND_EDGE = 0.9;
const MAX_PHASES = 1024;

export type PcmChannels = readonly (Float32Array | Int16Array)[];

export interface ResamplerOptions {
  readonly inputRate: number;
  /** Output rate; defaults to 16 kHz. */
  readonly outputRate?: number;
}

export class Resampler {
  readonly inputRate: number;
  readonly outputRate: number;
  /** Input samples consumed per output step is `#step / #phases`. */
  readonly #step: number;
  readonly #phases: number;
  readonly #table: Float32Array | undefined;
  readonly #tableRows: number;
  /** Taps per output sample; the window spans input indices [i − #halfTaps + 1, i + #halfTaps]. */
  readonly #taps: number;
  readonly #halfTaps: number;
  #buffer: Float32Array;
  /** Absolute input index of `#buffer[0]` (negative at the start: leading silence). */
  #bufferStart = 0;
  #bufferLength = 0;
  #inputTotal = 0;
  #nextIndex = 0;
  #nextPhase = 0;
  #outputTotal = 0;

  constructor(options: ResamplerOptions) {
    const { inputRate } = options;
    const outputRate = options.outputRate ?? TARGET_SAMPLE_RATE;
    if (!(Number.isInteger(inputRate) && inputRate > 0 && Number.isInteger(outputRate) && outputRate > 0)) {
      throw new RangeError(`Sample rates must be positive integers, got ${inputRate} → ${outputRate}.`);
    }
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    const divisor = gcd(inputRate, outputRate);
    this.#step = inputRate / divisor;
    this.#phases = outputRate / divisor;
    if (inputRate === outputRate) {
      this.#taps = 0;
      this.#halfTaps = 0;
      this.#table = undefined;
      this.#tableRows = 0;
    } else {
      const design = designFilter(inputRate, outputRate);
      this.#halfTaps = Math.ceil(design.halfWidth);
      this.#taps = 2 * this.#halfTaps;
      this.#tableRows = this.#phases <= MAX_PHASES ? this.#phases : MAX_PHASES + 1;
      const rowFraction = this.#phases <= MAX_PHASES ? 1 / this.#phases : 1 / MAX_PHASES;
      this.#table = buildTable(design, this.#halfTaps, this.#tableRows, rowFraction);
    }
    this.#buffer = new Float32Array(Math.max(4096, this.#taps * 2));
    this.#reset();
  }

  /**
   * Resample the next piece of input: one mono channel or several (averaged). Returns the output
   * samples that are now final (the filter looks ahead `#halfTaps` input samples).
   */
  push(input: Float32Array | Int16Array | PcmChannels): Int16Array {
    const mono = ArrayBuffer.isView(input) ? input : input.length === 1 && input[0] ? input[0] : downmixToFloat(input);
    if (this.#table === undefined) return toInt16(mono);
    this.#append(mono);
    this.#inputTotal += mono.length;
    return this.#produce(Number.POSITIVE_INFINITY);
  }

  /** End of input: returns the last samples (the input's tail, against trailing silence) and resets. */
  flush(): Int16Array {
    if (this.#table === undefined) return new Int16Array(0);
    const total = Math.ceil((this.#inputTotal * this.#phases) / this.#step);
    this.#append(new Float32Array(this.#halfTaps + 1));
    const out = this.#produce(total);
    this.#reset();
    return out;
  }

  #reset(): void {
    // Leading silence, so the first output sample has its full window.
    this.#buffer.fill(0, 0, this.#halfTaps);
    this.#bufferStart = -Math.max(0, this.#halfTaps - 1);
    this.#bufferLength = Math.max(0, this.#halfTaps - 1);
    this.#inputTotal = 0;
    this.#nextIndex = 0;
    this.#nextPhase = 0;
    this.#outputTotal = 0;
  }

  #append(samples: Float32Array | Int16Array): void {
    const needed = this.#bufferLength + samples.length;
    if (needed > this.#buffer.length) {
      const grown = new Float32Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#bufferLength));
      this.#buffer = grown;
    }
    if (samples instanceof Float32Array) {
      this.#buffer.set(samples, this.#bufferLength);
    } else {
      for (let i = 0; i < samples.length; i++) this.#buffer[this.#bufferLength + i] = (samples[i] as number) / 32768;
    }
    this.#bufferLength += samples.length;
  }

  #produce(limit: number): Int16Array {
    const table = this.#table as Float32Array;
    const taps = this.#taps;
    const interpolated = this.#phases > MAX_PHASES;
    const bufferEnd = this.#bufferStart + this.#bufferLength;
    // Outputs k = 0, 1, … sit at index + (phase + k·step) / phases; each needs input up to its
    // floor + halfTaps, so they are ready while that position is below bufferEnd − halfTaps.
    const room = (bufferEnd - this.#halfTaps - this.#nextIndex) * this.#phases - this.#nextPhase;
    const ready = Math.max(0, Math.ceil(room / this.#step));
    const out = new Int16Array(Math.min(ready, Math.max(0, limit - this.#outputTotal)));
    let produced = 0;
    let index = this.#nextIndex;
    let phase = this.#nextPhase;
    while (produced < out.length && index + this.#halfTaps < bufferEnd) {
      const first = index - this.#halfTaps + 1 - this.#bufferStart;
      let sum = 0;
      if (!interpolated) {
        const row = phase * taps;
        for (let k = 0; k < taps; k++) sum += (this.#buffer[first + k] as number) * (table[row + k] as number);
      } else {
        const position = (phase / this.#phases) * MAX_PHASES;
        const lower = Math.floor(position);
        const weight = position - lower;
        const rowA = lower * taps;
        const rowB = rowA + taps;
        for (let k = 0; k < taps; k++) {
          const a = table[rowA + k] as number;
          sum += (this.#buffer[first + k] as number) * (a + ((table[rowB + k] as number) - a) * weight);
        }
      }
      out[produced++] = floatSampleToInt16(sum);
      phase += this.#step;
      index += Math.floor(phase / this.#phases);
      phase %= this.#phases;
    }
    this.#nextIndex = index;
    this.#nextPhase = phase;
    this.#outputTotal += produced;
    this.#discardBefore(index - this.#halfTaps + 1);
    return produced === out.length ? out : out.subarray(0, produced);
  }

  /** Drops input no future output needs. */
  #discardBefore(absoluteIndex: number): void {
    const drop = Math.min(this.#bufferLength, absoluteIndex - this.#bufferStart);
    if (drop <= 0) return;
    this.#buffer.copyWithin(0, drop, this.#bufferLength);
    this.#bufferStart += drop;
    this.#bufferLength -= drop;
  }
}

/** One-shot conversion of a whole recording (any rate, any channel count) to 16 kHz mono PCM16. */
export function toMono16k(input: { sampleRate: number; channels: PcmChannels }): Int16Array {
  const resampler = new Resampler({ inputRate: input.sampleRate });
  const body = resampler.push(input.channels);
  const tail = resampler.flush();
  if (tail.length === 0) return body;
  const out = new Int16Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

interface FilterDesign {
  /** Cutoff in cycles per input sample. */
  readonly cutoff: number;
  /** Half the window length, in input samples. */
  readonly halfWidth: number;
  readonly beta: number;
}

function designFilter(inputRate: number, outputRate: number): FilterDesign {
  const nyquist = Math.min(inputRate, outputRate) / 2;
  const transitionHz = (1 - PASSBAND_EDGE) * nyquist;
  const transitionRad = (2 * Math.PI * transitionHz) / inputRate;
  const taps = Math.ceil((STOPBAND_DB - 7.95) / (2.285 * transitionRad)) + 1;
  return {
    cutoff: ((1 + PASSBAND_EDGE) / 2) * (nyquist / inputRate),
    halfWidth: taps / 2,
    beta: 0.1102 * (STOPBAND_DB - 8.7),
  };
}

/** Row r holds the taps for an output at fraction r·rowFraction past input index i. */
function buildTable(design: FilterDesign, halfTaps: number, rows: number, rowFraction: number): Float32Array {
  const taps = 2 * halfTaps;
  const table = new Float32Array(rows * taps);
  const i0Beta = besselI0(design.beta);
  const row = new Float64Array(taps);
  for (let r = 0; r < rows; r++) {
    const fraction = r * rowFraction;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      // Tap k weighs input index i − halfTaps + 1 + k, at distance `tau` from the output time.
      const tau = fraction - (k - halfTaps + 1);
      const x = tau / design.halfWidth;
      const window = Math.abs(x) >= 1 ? 0 : besselI0(design.beta * Math.sqrt(1 - x * x)) / i0Beta;
      const value = 2 * design.cutoff * sinc(2 * design.cutoff * tau) * window;
      row[k] = value;
      sum += value;
    }
    for (let k = 0; k < taps; k++) table[r * taps + k] = (row[k] as number) / sum;
  }
  return table;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for β < 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const half = x / 2;
  for (let k = 1; k < 50; k++) {
    term *= (half / k) * (half / k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function toInt16(samples: Float32Array | Int16Array): Int16Array {
  if (samples instanceof Int16Array) return samples;
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = floatSampleToInt16(samples[i] as number);
  return out;
}
