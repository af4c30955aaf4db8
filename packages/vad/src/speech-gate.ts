/**
 * Turns per-window speech probabilities into utterance boundaries, after silero-vad's
 * `VADIterator`: speech starts at the first window at or above `threshold`; a window below
 * `negThreshold` (threshold − 0.15) starts a tentative end, which a window back at `threshold`
 * cancels; when the tentative end has lasted `endpointingMs`, the utterance is over and the
 * speech ended where the tentative end began.
 */

import { VAD_WINDOW_SAMPLES } from "./silero-vad.js";

export interface SpeechGateOptions {
  /** Probability at or above which a window is speech (silero default 0.5). */
  readonly threshold: number;
  /** Silence after speech, in ms, that ends an utterance. */
  readonly endpointingMs: number;
  readonly sampleRate: number;
}

export type GateDecision =
  | { readonly type: "onset"; readonly atSample: number }
  | { readonly type: "endpoint"; readonly speechEndSample: number };

export class SpeechGate {
  readonly #threshold: number;
  readonly #negThreshold: number;
  readonly #endpointingSamples: number;
  #inSpeech = false;
  #tentativeEnd: number | undefined;

  constructor(options: SpeechGateOptions) {
    this.#threshold = options.threshold;
    this.#negThreshold = Math.max(0.01, options.threshold - 0.15);
    this.#endpointingSamples = Math.round((options.endpointingMs * options.sampleRate) / 1000);
  }

  get inSpeech(): boolean {
    return this.#inSpeech;
  }

  /** The probability of the window that ends at stream sample `endSample`. */
  observe(probability: number, endSample: number): GateDecision | undefined {
    const windowStart = endSample - VAD_WINDOW_SAMPLES;
    if (!this.#inSpeech) {
      if (probability < this.#threshold) return undefined;
      this.#inSpeech = true;
      this.#tentativeEnd = undefined;
      return { type: "onset", atSample: windowStart };
    }
    if (probability >= this.#threshold) {
      this.#tentativeEnd = undefined;
      return undefined;
    }
    if (probability < this.#negThreshold) this.#tentativeEnd ??= windowStart;
    if (this.#tentativeEnd === undefined || endSample - this.#tentativeEnd < this.#endpointingSamples) return undefined;
    const speechEndSample = this.#tentativeEnd;
    this.#inSpeech = false;
    this.#tentativeEnd = undefined;
    return { type: "endpoint", speechEndSample };
  }
}
