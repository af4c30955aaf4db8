/**
 * Ways to fill the empty 4–8 kHz band of 8 kHz audio upsampled to 16 kHz, measured against each
 * other by `npm run bench:band` (docs/benchmarks.md, "8 kHz band extension"). Each takes the 8 kHz
 * PCM as it comes off the G.711 decoder and returns the 16 kHz PCM the engine would get. The
 * server ships one of them, the first-order tilted mirror (`BandExtender` in @earshot/audio); the
 * others live here because they were measured and lost.
 */
import { concatPcm, Resampler } from "@earshot/audio";

export interface BandVariant {
  /** Short name for the table. */
  readonly name: string;
  /** The image's gain relative to the baseband, in dB; undefined for no image. */
  readonly gainDb: number | undefined;
  readonly apply: (pcm8k: Int16Array) => Int16Array;
}

/** The server's upsampler: 8 kHz → 16 kHz, band-limited (nothing above 4 kHz). */
export function upsample(pcm8k: Int16Array): Int16Array {
  const resampler = new Resampler({ inputRate: 8000 });
  return concatPcm(resampler.push(pcm8k), resampler.flush());
}

const amplitude = (gainDb: number) => 10 ** (gainDb / 20);
const clip = (value: number) => Math.max(-32768, Math.min(32767, Math.round(value)));

/** No image: what the server did before. */
export const plain: BandVariant = { name: "none (band-limited upsampling)", gainDb: undefined, apply: upsample };

/** The baseband mirrored about 4 kHz (f → 8 kHz − f), flat: at 0 dB, upsampling by zero-stuffing. */
export function mirror(gainDb: number): BandVariant {
  const g = amplitude(gainDb);
  return {
    name: "mirror",
    gainDb,
    apply: (pcm8k) => {
      const x = upsample(pcm8k);
      const out = new Int16Array(x.length);
      for (let n = 0; n < x.length; n++) out[n] = clip((x[n] as number) * (n % 2 === 0 ? 1 + g : 1 - g));
      return out;
    },
  };
}

/**
 * The mirror image through a first difference (x[n] − x[n−1]: the shipped `BandExtender`), or a
 * second one for `order` 2, scaled to unity at 4 kHz: the image falls from the set gain at 4 kHz to
 * nothing at 8 kHz (first order: −5 dB at 6 kHz, −11 dB at 7 kHz; second: −11 and −22 dB), so the
 * strong low baseband (voicing, the first formant) does not land at 7–8 kHz.
 */
export function tiltedMirror(gainDb: number, order: 1 | 2 = 1): BandVariant {
  // Order 1 is what `BandExtender` computes (sample for sample); written out here too, so gains
  // above its 0 dB limit can be measured.
  const g = amplitude(gainDb) / (order === 1 ? Math.SQRT2 : 2);
  return {
    name: `mirror, image tilted down (${order === 1 ? "first" : "second"} difference)`,
    gainDb,
    apply: (pcm8k) => {
      const x = upsample(pcm8k);
      const out = new Int16Array(x.length);
      let previous = 0;
      let before = 0;
      for (let n = 0; n < x.length; n++) {
        const value = x[n] as number;
        const difference = order === 1 ? value - previous : value - 2 * previous + before;
        out[n] = clip(value + (n % 2 === 0 ? g : -g) * difference);
        before = previous;
        previous = value;
      }
      return out;
    },
  };
}

/**
 * The baseband moved up by 4 kHz instead of mirrored (f → 4 kHz + f, the order of frequencies kept):
 * the 8 kHz signal mirrored within its own band (·(−1)^m: f → 4 kHz − f), upsampled, and mirrored
 * again about 4 kHz at 16 kHz.
 */
export function shift(gainDb: number): BandVariant {
  const g = amplitude(gainDb);
  return {
    name: "shift by 4 kHz (f → 4 kHz + f)",
    gainDb,
    apply: (pcm8k) => {
      const x = upsample(pcm8k);
      const flipped = new Int16Array(pcm8k.length);
      for (let m = 0; m < pcm8k.length; m++) flipped[m] = clip((m % 2 === 0 ? 1 : -1) * (pcm8k[m] as number));
      const image = upsample(flipped);
      const out = new Int16Array(x.length);
      for (let n = 0; n < x.length; n++) {
        out[n] = clip((x[n] as number) + (n % 2 === 0 ? g : -g) * (image[n] as number));
      }
      return out;
    },
  };
}

/**
 * A control: steady white noise in 4–8 kHz, `gainDb` below the clip's RMS, the same in speech and
 * in pauses. If the mirror helps only because the band is no longer empty, this does as well.
 */
export function steadyNoise(gainDb: number): BandVariant {
  return {
    name: "steady noise (control)",
    gainDb,
    apply: (pcm8k) => {
      const x = upsample(pcm8k);
      let sum = 0;
      for (const value of x) sum += value * value;
      const level = Math.sqrt(sum / Math.max(1, x.length)) * amplitude(gainDb);
      // Seeded uniform noise of RMS 10 000 at 8 kHz, upsampled (below 4 kHz), mirrored above 4 kHz.
      let state = 0x9e3779b9;
      const noise = new Int16Array(pcm8k.length);
      for (let m = 0; m < noise.length; m++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        noise[m] = clip((state / 2 ** 32 - 0.5) * 2 * Math.sqrt(3) * 10_000);
      }
      const high = upsample(noise);
      const out = new Int16Array(x.length);
      for (let n = 0; n < x.length; n++) {
        out[n] = clip((x[n] as number) + (n % 2 === 0 ? 1 : -1) * (high[n] as number) * (level / 10_000));
      }
      return out;
    },
  };
}

export const VARIANTS: readonly BandVariant[] = [
  plain,
  ...[0, -5, -10, -15, -20].map(mirror),
  ...[0, -5, -10].map((db) => tiltedMirror(db)),
  ...[-5, -10, -15].map(shift),
  ...[-10, -20].map(steadyNoise),
  // Round 2, around the best of round 1 (the first-order tilt at 0 dB).
  ...[3, -2.5].map((db) => tiltedMirror(db)),
  ...[3, 0, -5].map((db) => tiltedMirror(db, 2)),
];
