export {
  EVAL_DIR,
  loadEvalSet,
  loadMulaw,
  loadPcm,
  loadTelephoneSet,
  speechBounds,
  type Utterance,
} from "./eval-set.js";
export { type ChaosOptions, type FaultCounts, FaultProxy, type FaultProxyOptions } from "./fault-proxy.js";
export { haproxyCommand } from "./haproxy-runtime.js";
export { heapCheckEnv, MALLOC_DEBUG_LIBRARY } from "./heap-checks.js";
export { between, mulberry32, pick, type Random } from "./seeded-random.js";
export { normalizeWords, repeatedWords, type WerResult, wer, wordEdits } from "./wer.js";
