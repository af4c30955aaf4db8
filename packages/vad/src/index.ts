export { DEFAULT_ENDPOINTING_MS, VadGatedEngine, type VadGateOptions } from "./gated-engine.js";
export { DEFAULT_SILERO_MODEL_PATH, SileroVad, VadDetector } from "./silero-vad.js";
