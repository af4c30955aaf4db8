export * from "./contract.js";
export { EventChannel } from "./event-channel.js";
export * from "./models/index.js";
export * from "./models/model-spec.js";
export {
  DEFAULT_STREAM_DEMAND,
  DEFAULT_VAD_POSTSPEECH_FRAMES,
  FAST_DECODER_ARGS,
  PocketSphinxEngine,
  type PocketSphinxOptions,
} from "./pocketsphinx/engine.js";
export { EngineRouter } from "./router.js";
export { canaryLoad } from "./sherpa/canary.js";
export { SherpaOnnxEngine, type SherpaOnnxOptions } from "./sherpa/engine.js";
export { KeytermsUnsupportedError, ModelInvalidError } from "./sherpa/errors.js";
export type { BatchStats } from "./sherpa/host-process.js";
export { inferModelSpec } from "./sherpa/model-dir.js";
export {
  checkModel,
  DECODING_METHODS,
  type DecodingMethod,
  type PreflightOptions,
  preflightModel,
  REQUIRED_DECODER_METADATA,
  REQUIRED_ENCODER_METADATA,
} from "./sherpa/preflight.js";
export { TEST_WORDS, TestEngine, type TestEngineOptions } from "./testing/test-engine.js";
export { DEFAULT_ENDPOINTING_MS, VadGatedEngine, type VadGateOptions } from "./vad/gated-engine.js";
export { DEFAULT_SILERO_MODEL_PATH, SileroVad, VadDetector } from "./vad/silero-vad.js";
