/**
 * Bandwidth extension for telephone audio: 8 kHz audio, upsampled to 16 kHz, has nothing between
 * 4 and 8 kHz, and a wideband acoustic model (PocketSphinx's en-us) reads that empty upper band as
 * a strong cue, so it misrecognizes most words (docs/benchmarks.md, "Encodings"). This step fills
 * the band with a mirror image of the baseband ("spectral folding"): the content at f (below
 * 4 kHz) also appears at 8 kHz − f, `gainDb` below the baseband. At 0 dB that is exactly what
 * upsampling by zero-stuffing without an anti-imaging filter gives; lower gains keep the model's
 * cue that there is energy up there while the image, which is not real speech, weighs less.
 *
 * How: on the band-limited 16 kHz signal x, the image is x[n]·(−1)^n (modulation by half the
 * sampling rate mirrors the spectrum about 4 kHz), so the output is x[n]·(1 ± g) with g the gain as
 * an amplitude: one multiply per sample. The sign follows the parity of the stream position, so
 * the output depends only on the position of each sample and not on how the audio was chunked or
 * where a stream was continued (`startSample`). Samples that would overflow PCM16 are clipped: a
 * baseband above 1 / (1 + g) of full scale, half of it at 0 dB, 76% at −10 dB.
 *
 * Use it only for audio that was 8 kHz (μ-law, A-law, 8 kHz PCM) after the upsampler; 16 kHz audio
 * has its own upper band. Measured gains, variants and the default: docs/benchmarks.md,
 * "Encodings"; docs/telephony.md, "8 kHz audio".
 */
import { MAX_BAND_EXTENSION_DB, MIN_BAND_EXTENSION_DB } from "@earshot/protocol/encodings";

export interface BandExtenderOptions {
  /** Level of the 4–8 kHz image relative to the 0–4 kHz baseband, in dB (−60..0). */
  readonly gainDb: number;
  /** Stream position (16 kHz samples) of the first sample given; default 0. */
  readonly startSample?: number;
}

export class BandExtender {
  readonly gainDb: number;
  /** Amplitude of the image: 10^(gainDb / 20). */
  readonly #gain: number;
  /** Whether the next sample sits at an odd stream position (the image's sign is then −). */
  #odd: boolean;

  constructor(options: BandExtenderOptions) {
    const { gainDb } = options;
    if (!(Number.isFinite(gainDb) && gainDb >= MIN_BAND_EXTENSION_DB && gainDb <= MAX_BAND_EXTENSION_DB)) {
      throw new RangeError(
        `Band extension gain must be ${MIN_BAND_EXTENSION_DB}..${MAX_BAND_EXTENSION_DB} dB, got ${gainDb}.`,
      );
    }
    this.gainDb = gainDb;
    this.#gain = 10 ** (gainDb / 20);
    this.#odd = (options.startSample ?? 0) % 2 === 1;
  }

  /** Adds the image to the next 16 kHz samples, in place (the caller's buffer is changed), and returns them. */
  process(samples: Int16Array): Int16Array {
    const plus = 1 + this.#gain;
    const minus = 1 - this.#gain;
    scale(samples, 0, this.#odd ? minus : plus);
    scale(samples, 1, this.#odd ? plus : minus);
    if (samples.length % 2 === 1) this.#odd = !this.#odd;
    return samples;
  }
}

/** Multiplies every other sample from `from` by `factor`, rounded and clipped to PCM16. */
function scale(samples: Int16Array, from: number, factor: number): void {
  for (let i = from; i < samples.length; i += 2) {
    const value = Math.round((samples[i] as number) * factor);
    samples[i] = Math.min(32767, Math.max(-32768, value));
  }
}
