/**
 * Bandwidth extension for telephone audio: 8 kHz audio, upsampled to 16 kHz, has nothing between
 * 4 and 8 kHz, and a wideband acoustic model (PocketSphinx's en-us: mel filters up to 6.8 kHz)
 * reads that empty band as a strong cue, so it misrecognizes most words. This step fills the band
 * with a mirror image of the baseband ("spectral folding": the content at f, below 4 kHz, also
 * appears at 8 kHz − f), tilted down towards 8 kHz: the image is `gainDb` relative to the
 * baseband at the 4 kHz edge, 5 dB lower at 6 kHz, 11 dB lower at 7 kHz, nothing at 8 kHz. So the
 * upper baseband (3–4 kHz) continues above 4 kHz about as it ends, and the strong low baseband
 * (voicing, the first formant) does not land at 7–8 kHz, where speech has little energy.
 *
 * How: on the band-limited 16 kHz signal x, modulation by half the sampling rate, (−1)^n, mirrors
 * the spectrum about 4 kHz; the tilt is a first difference, x[n] − x[n−1], whose gain grows from
 * 0 at DC to √2 at 4 kHz (divided out). The output is x[n] + (−1)^n·g·(x[n] − x[n−1])/√2, with g
 * the gain as an amplitude: two multiply-adds per sample. Without the tilt, at 0 dB, this is what
 * upsampling by zero-stuffing (no anti-imaging filter) gives; the tilted image gave the lower WER
 * (docs/benchmarks.md, "8 kHz band extension: variants"). The sign follows the parity of the
 * stream position, and the only state is the previous sample, so any chunking of the same audio
 * gives the same samples; a stream continued at `startSample` starts from silence, as the
 * upsampler does. Samples that would overflow PCM16 are clipped (a baseband near full scale).
 *
 * Use it only for audio that was 8 kHz (μ-law, A-law, 8 kHz PCM), after the upsampler: 16 kHz audio
 * has its own upper band. docs/telephony.md, "8 kHz audio".
 */
import { MAX_BAND_EXTENSION_DB, MIN_BAND_EXTENSION_DB } from "@earshot/protocol/encodings";

export interface BandExtenderOptions {
  /** Level of the image relative to the baseband at the 4 kHz edge, in dB (−60..0). */
  readonly gainDb: number;
  /** Stream position (16 kHz samples) of the first sample given; default 0. */
  readonly startSample?: number;
}

export class BandExtender {
  readonly gainDb: number;
  /** g / √2: the image's weight on the first difference. */
  readonly #weight: number;
  /** Whether the next sample sits at an odd stream position (the image's sign is then −). */
  #odd: boolean;
  #previous = 0;

  constructor(options: BandExtenderOptions) {
    const { gainDb } = options;
    if (!(Number.isFinite(gainDb) && gainDb >= MIN_BAND_EXTENSION_DB && gainDb <= MAX_BAND_EXTENSION_DB)) {
      throw new RangeError(
        `Band extension gain must be ${MIN_BAND_EXTENSION_DB}..${MAX_BAND_EXTENSION_DB} dB, got ${gainDb}.`,
      );
    }
    this.gainDb = gainDb;
    this.#weight = 10 ** (gainDb / 20) / Math.SQRT2;
    this.#odd = (options.startSample ?? 0) % 2 === 1;
  }

  /** Adds the image to the next 16 kHz samples, in place (the caller's buffer is changed), and returns them. */
  process(samples: Int16Array): Int16Array {
    let weight = this.#odd ? -this.#weight : this.#weight;
    let previous = this.#previous;
    for (let i = 0; i < samples.length; i++) {
      const value = samples[i] as number;
      samples[i] = Math.min(32767, Math.max(-32768, Math.round(value + weight * (value - previous))));
      previous = value;
      weight = -weight;
    }
    this.#previous = previous;
    if (samples.length % 2 === 1) this.#odd = !this.#odd;
    return samples;
  }
}
