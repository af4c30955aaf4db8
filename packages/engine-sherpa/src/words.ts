/**
 * Words from a sherpa-onnx result's tokens: a BPE piece starting with "▁" starts an English word
 * and the pieces after it continue it; each CJK character is a word of its own (as is every token
 * of a character-unit model). A token's time is the output frame it was emitted at; a word ends
 * one output frame after its last token, never after the next word starts. Confidence is the
 * geometric mean of the tokens' probabilities (`ys_probs` are log-probabilities).
 */

import type { EngineWord } from "@earshot/engines";
import type { ModelingUnit } from "./models/model-spec.js";

/** sherpa-onnx counts trailing blanks and token times in output frames: 4 feature frames of 10 ms. */
export const OUTPUT_FRAME_MS = 40;
const WORD_START = "▁";
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

export interface TokenTimes {
  readonly tokens: readonly string[];
  /** Absolute ms of each token. */
  readonly timesMs: readonly number[];
  readonly logProbs?: readonly number[];
}

interface Building {
  word: string;
  startMs: number;
  lastMs: number;
  logProb: number;
  count: number;
}

export function tokensToWords(input: TokenTimes, unit: ModelingUnit): EngineWord[] {
  const built: Building[] = [];
  // A bare "▁" piece starts a word (at its own time) that the next piece spells.
  let startNext = true;
  let bareStartMs: number | undefined;
  for (const [i, token] of input.tokens.entries()) {
    const timeMs = input.timesMs[i] ?? input.timesMs.at(-1) ?? 0;
    const logProb = input.logProbs?.[i] ?? 0;
    const current = built.at(-1);
    const text = token.startsWith(WORD_START) ? token.slice(WORD_START.length) : token;
    const startsWord =
      startNext ||
      token.startsWith(WORD_START) ||
      unit === "cjkchar" ||
      CJK.test(token) ||
      CJK.test(current?.word ?? "");
    startNext = text === "" && token.startsWith(WORD_START);
    if (text === "") {
      bareStartMs = startNext ? timeMs : undefined;
      continue;
    }
    if (startsWord || !current) {
      built.push({ word: text, startMs: bareStartMs ?? timeMs, lastMs: timeMs, logProb, count: 1 });
      bareStartMs = undefined;
    } else {
      current.word += text;
      current.lastMs = timeMs;
      current.logProb += logProb;
      current.count += 1;
    }
  }
  return built.map((word, i) => {
    const next = built[i + 1];
    const endMs = Math.min(word.lastMs + OUTPUT_FRAME_MS, next ? next.startMs : Number.POSITIVE_INFINITY);
    const confidence = input.logProbs ? Math.min(1, Math.exp(word.logProb / word.count)) : 1;
    return { word: word.word, startMs: word.startMs, endMs: Math.max(word.startMs, endMs), confidence };
  });
}
