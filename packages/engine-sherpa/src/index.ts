export { canaryLoad } from "./canary.js";
export { SherpaOnnxEngine, type SherpaOnnxOptions } from "./engine.js";
export { KeytermsUnsupportedError, ModelInvalidError } from "./errors.js";
export type { BatchStats } from "./host-process.js";
export { inferModelSpec } from "./model-dir.js";
export * from "./models/index.js";
export * from "./models/model-spec.js";
export {
  checkModel,
  DECODING_METHODS,
  type DecodingMethod,
  type PreflightOptions,
  preflightModel,
  REQUIRED_DECODER_METADATA,
  REQUIRED_ENCODER_METADATA,
} from "./preflight.js";
