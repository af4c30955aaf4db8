/**
 * Test code: card numbers and the ways people read them aloud, as an engine writes them (lowercase
 * words), for the redaction tests and the fuzz test.
 */
import type { TranscriptMessage, Word } from "@earshot/protocol";

const DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"] as const;
const TEEN_WORDS = [
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
] as const;
const TENS_WORDS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"] as const;

/** `prefix` and the Luhn check digit that makes it a valid card number. */
export function withCheckDigit(prefix: string): string {
  for (let check = 0; check <= 9; check++) {
    const candidate = `${prefix}${check}`;
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let digit = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
      sum += digit;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error("unreachable");
}

/** Card numbers of every length a card can have, from real issuers' test ranges. */
export const CARDS = [
  "4111111111111111",
  "4242424242424242",
  "5555555555554444",
  "378282246310005",
  "6011111111111117",
  "3530111333300000",
  "30569309025904",
  "4222222222222",
  withCheckDigit("620000000000000000"),
  withCheckDigit("50180000000000"),
  withCheckDigit("639000000000000"),
  withCheckDigit("222300312200320"),
] as const;

export const digitWord = (digit: string, zero = "zero") => (digit === "0" ? zero : (DIGIT_WORDS[Number(digit)] ?? ""));

/** "4111" → four one one one. */
export const digitByDigit = (digits: string, zero = "zero"): string[] => [...digits].map((d) => digitWord(d, zero));

/** "41" → forty one, "11" → eleven, "05" → oh five, "40" → forty, "7" → seven. */
export function twoDigits(pair: string): string[] {
  if (pair.length === 1 || pair[0] === "0") return digitByDigit(pair, "oh");
  const tens = Number(pair[0]);
  const ones = Number(pair[1]);
  if (tens === 1) return [TEEN_WORDS[ones] ?? ""];
  return ones === 0 ? [TENS_WORDS[tens] ?? ""] : [TENS_WORDS[tens] ?? "", DIGIT_WORDS[ones] ?? ""];
}

/** "4111 1111 …" read as pairs: forty one eleven eleven …; "405" as forty, uh, five (not 45). */
export function inPairs(digits: string): string[] {
  return chunks(digits, 2).flatMap((pair, i, pairs) => {
    const afterTens = i > 0 && pairs[i - 1]?.endsWith("0") && !pairs[i - 1]?.startsWith("0") && pair.length === 1;
    return afterTens && pair !== "0" ? ["uh", ...twoDigits(pair)] : twoDigits(pair);
  });
}

/** Repeated digits as "double": "4111" → four double one one. */
export function withDoubles(digits: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < digits.length; i++) {
    if (digits[i] === digits[i + 1]) {
      out.push("double", digitWord(digits[i] ?? "0", "oh"));
      i += 1;
    } else out.push(digitWord(digits[i] ?? "0"));
  }
  return out;
}

export function chunks(digits: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < digits.length; i += size) out.push(digits.slice(i, i + size));
  return out;
}

/** The words of finals read one after another: each word 300 ms, a 1.5 s pause between finals. */
export function timedFinals(finals: readonly (readonly string[])[], fromMs = 0): TranscriptMessage[] {
  let at = fromMs;
  return finals.map((texts, index) => {
    const start = at;
    const words: Word[] = texts.map((word) => {
      const w = { word, start_ms: at, end_ms: at + 250, confidence: 0.9 };
      at += 300;
      return w;
    });
    const message: TranscriptMessage = {
      type: "transcript",
      is_final: true,
      speech_final: true,
      text: texts.join(" "),
      segment_id: index,
      start_ms: start,
      end_ms: Math.max(start, at - 50),
      language: "en",
      words,
    };
    at += 1500;
    return message;
  });
}
