/**
 * The sherpa-onnx `OnlineRecognizer` config for a model spec (research notes A.3). Plain data, so
 * the parent builds it and the child processes only pass it to the addon.
 */

import { join } from "node:path";
import type { ModelSpec } from "./models/model-spec.js";
import type { DecodingMethod } from "./preflight.js";

export interface RecognizerSettings {
  readonly numThreads: number;
  readonly decodingMethod: DecodingMethod;
  /** Beam for modified_beam_search. */
  readonly maxActivePaths: number;
  /** Endpoint without any decoded speech after this much trailing silence (sherpa rule 1). */
  readonly silenceEndpointMs: number;
  /** Endpoint an utterance this long whatever follows (sherpa rule 3). */
  readonly maxUtteranceMs: number;
  /** Key terms (hotwords), one per line; only with modified_beam_search. */
  readonly hotwords?: readonly string[];
  readonly hotwordsScore?: number;
}

/**
 * Rule 2 (trailing silence after speech) is each stream's own `endpointingMs`, which the host
 * checks per stream with sherpa's arithmetic; the recognizer's rule 2 is set out of reach.
 */
const RULE2_OFF_SECONDS = 3600;

export function recognizerConfig(dir: string, spec: ModelSpec, settings: RecognizerSettings): object {
  const hotwords = settings.hotwords ?? [];
  const hotwordsBuf = hotwords.length > 0 ? `${hotwords.join("\n")}\n` : "";
  return {
    featConfig: { sampleRate: spec.sampleRate, featureDim: spec.featureDim },
    modelConfig: {
      transducer: {
        encoder: join(dir, spec.files.encoder),
        decoder: join(dir, spec.files.decoder),
        joiner: join(dir, spec.files.joiner),
      },
      tokens: join(dir, spec.files.tokens),
      numThreads: settings.numThreads,
      provider: "cpu",
      debug: 0,
      // Given explicitly, so the addon does not open the encoder once more just to read it.
      modelType: spec.modelType,
      // The hotword tokenizer; sherpa-onnx insists on bpeVocab for BPE units, so only set with hotwords.
      ...(hotwordsBuf === ""
        ? {}
        : {
            modelingUnit: spec.modelingUnit,
            bpeVocab: spec.files.bpeVocab === undefined ? "" : join(dir, spec.files.bpeVocab),
          }),
    },
    decodingMethod: settings.decodingMethod,
    maxActivePaths: settings.maxActivePaths,
    enableEndpoint: true,
    rule1MinTrailingSilence: settings.silenceEndpointMs / 1000,
    rule2MinTrailingSilence: RULE2_OFF_SECONDS,
    rule3MinUtteranceLength: settings.maxUtteranceMs / 1000,
    ...(hotwordsBuf === ""
      ? {}
      : { hotwordsBuf, hotwordsBufSize: Buffer.byteLength(hotwordsBuf), hotwordsScore: settings.hotwordsScore ?? 1.5 }),
  };
}
