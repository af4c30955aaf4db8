export { EVAL_DIR, loadEvalSet, loadPcm, speechBounds, type Utterance } from "./eval-set.js";
export { normalizeWords, repeatedWords, type WerResult, wer, wordEdits } from "./wer.js";
