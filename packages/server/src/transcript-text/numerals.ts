/**
 * `numerals` (after Deepgram's option of that name): spoken numbers become digits, "four one one
 * one" → "4111", "twenty five dollars" → "$25". A number's words become one word that spans them
 * (from the first's start to the last's end, with the lowest confidence among them), so word
 * timestamps stay true. A lone digit word ("one", "four") and a number before an ordinal ("twenty
 * fifth") stay words.
 */
import type { Word } from "@earshot/protocol";
import { numberSpans } from "./spoken-numbers.js";

export function withNumerals(words: readonly Word[]): Word[] {
  const spans = numberSpans(words.map((w) => w.word));
  const out: Word[] = [];
  let at = 0;
  for (const span of spans) {
    if (span.ordinal || span.lone) continue;
    out.push(...words.slice(at, span.first));
    out.push(spanning(words, span.first, span.last, span.money ?? span.digits));
    at = span.last + 1;
  }
  out.push(...words.slice(at));
  return out;
}

/** One word standing for `words[first..last]`: their span, their lowest confidence. */
export function spanning(words: readonly Word[], first: number, last: number, text: string): Word {
  const from = words[first] as Word;
  const to = words[last] as Word;
  let confidence = from.confidence;
  for (let i = first + 1; i <= last; i++) confidence = Math.min(confidence, (words[i] as Word).confidence);
  return { word: text, start_ms: from.start_ms, end_ms: to.end_ms, confidence };
}
