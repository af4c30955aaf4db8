/**
 * Finds the numbers in a transcript's words, as an English speaker says them and an engine writes
 * them (lowercase words, no punctuation; engines that write digits give words of digits): digit by
 * digit ("four one one one", "oh" and "zero"), in groups ("forty one eleven"), with repeats
 * ("double four"), with scales ("twenty five hundred", "one thousand two hundred and five"), and
 * money ("twenty five dollars and fifty cents"). Adjacent groups read as one digit string, as card,
 * phone and account numbers are read: "nineteen eighty four" is 1984, "forty one eleven" 4111.
 * Pure: numerals and redaction both build on it.
 */

import { CENTS, DIGITS, DOLLARS, FILLERS, ORDINALS, REPEATS, SCALES, TEENS, TENS } from "./number-words.js";

/** One number in the words: the words `first`..`last` (inclusive) read as `digits`. */
export interface NumberSpan {
  readonly first: number;
  readonly last: number;
  /** The digits as read: "4111" for "four one one one", "2500" for "twenty five hundred". */
  readonly digits: string;
  /** Money: "$25", "$25.50", "$0.50"; the span then includes the currency words. */
  readonly money?: string;
  /** A number followed by an ordinal word ("twenty fifth"): numerals leave it as words. */
  readonly ordinal: boolean;
  /** The number is one word naming one digit ("one", "four"): numerals leave it as a word. */
  readonly lone: boolean;
}

type Lexeme =
  | { readonly kind: "digit" | "teen" | "tens" | "scale" | "repeat"; readonly value: number }
  | { readonly kind: "digits"; readonly text: string }
  | { readonly kind: "and" };

/** A word as compared: lowercase, without surrounding punctuation. */
export function normalized(word: string): string {
  return word.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
}

function lexemeOf(part: string): Lexeme | undefined {
  if (/^\d+$/.test(part)) return { kind: "digits", text: part };
  const digit = DIGITS.get(part);
  if (digit !== undefined) return { kind: "digit", value: digit };
  const teen = TEENS.get(part);
  if (teen !== undefined) return { kind: "teen", value: teen };
  const tens = TENS.get(part);
  if (tens !== undefined) return { kind: "tens", value: tens };
  const scale = SCALES.get(part);
  if (scale !== undefined) return { kind: "scale", value: scale };
  const repeat = REPEATS.get(part);
  if (repeat !== undefined) return { kind: "repeat", value: repeat };
  if (part === "and") return { kind: "and" };
  return undefined;
}

/** A word's lexemes ("twenty-five" has two), or undefined when it is not all number words. */
function lexemesOf(word: string): Lexeme[] | undefined {
  const text = normalized(word);
  if (text === "") return undefined;
  // Words of digits as engines that write numerals give them: "4111", "4111-1111", "1,200".
  if (/^\d[\d,-]*$/.test(text)) return [{ kind: "digits", text: text.replace(/[,-]/g, "") }];
  const lexemes: Lexeme[] = [];
  for (const part of text.split("-")) {
    const lexeme = lexemeOf(part);
    if (!lexeme) return undefined;
    lexemes.push(lexeme);
  }
  return lexemes;
}

const isZeroWord = (word: string) => {
  const text = normalized(word);
  return text === "oh" || text === "o";
};

/**
 * Which words belong to a number: digits and number words, "oh" next to another number word,
 * "double"/"triple" before a digit, a scale after a number, "and" between a scale and a number.
 */
function numberWords(words: readonly string[]): Array<Lexeme[] | undefined> {
  const lexemes = words.map(lexemesOf);
  const isSolid = (i: number) => {
    const l = lexemes[i];
    const inNumber = (x: Lexeme) => x.kind !== "scale" && x.kind !== "and" && x.kind !== "repeat";
    return l !== undefined && !isZeroWord(words[i] ?? "") && l.every(inNumber);
  };
  const solid = words.map((_, i) => isSolid(i));
  const isFiller = (i: number) => FILLERS.has(normalized(words[i] ?? ""));
  /** The nearest word before (step -1) or after (+1) `i` that is not a hesitation. */
  const neighbour = (i: number, step: -1 | 1) => {
    let j = i + step;
    while (j >= 0 && j < words.length && isFiller(j)) j += step;
    return j;
  };
  const isRepeat = (i: number) => lexemes[i]?.length === 1 && lexemes[i]?.[0]?.kind === "repeat";
  // "oh" joins a number it touches, hesitations aside, one "oh" after another ("four oh oh one",
  // "nine uh oh"), and a "double" before it; "double" joins the digit after it ("double oh seven",
  // "is oh double four").
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < words.length; i++) {
      if (solid[i]) continue;
      const joins = isZeroWord(words[i] ?? "")
        ? solid[neighbour(i, -1)] || solid[neighbour(i, 1)] || isRepeat(i - 1)
        : isRepeat(i) && solid[i + 1] && lexemes[i + 1]?.[0]?.kind === "digit";
      if (joins) {
        solid[i] = true;
        changed = true;
      }
    }
  }
  const kept: Array<Lexeme[] | undefined> = words.map(() => undefined);
  for (let i = 0; i < words.length; i++) {
    const l = lexemes[i];
    if (!l) continue;
    const first = l[0];
    if (first?.kind === "repeat") {
      if (solid[i]) kept[i] = l;
      continue;
    }
    if (first?.kind === "scale") {
      if (kept[i - 1] !== undefined && kept[i - 1]?.at(-1)?.kind !== "and") kept[i] = l;
      continue;
    }
    if (first?.kind === "and") {
      const next = lexemes[i + 1]?.[0]?.kind;
      const afterScale = kept[i - 1]?.at(-1)?.kind === "scale";
      if (afterScale && (next === "digit" || next === "teen" || next === "tens") && solid[i + 1]) kept[i] = l;
      continue;
    }
    if (solid[i]) kept[i] = l;
  }
  return kept;
}

/** Reads one run of number lexemes as digit groups, concatenated. */
function readDigits(run: readonly Lexeme[]): string {
  let digits = "";
  let at = 0;
  while (at < run.length) {
    const lexeme = run[at] as Lexeme;
    if (lexeme.kind === "digits") {
      digits += lexeme.text;
      at += 1;
      continue;
    }
    if (lexeme.kind === "repeat") {
      const next = run[at + 1];
      const digit = next?.kind === "digit" ? String(next.value) : "";
      digits += digit.repeat(lexeme.value);
      at += 2;
      continue;
    }
    if (lexeme.kind === "digit" && lexeme.value === 0) {
      digits += "0";
      at += 1;
      continue;
    }
    const [value, used] = readValue(run, at);
    if (used === 0) {
      at += 1; // a stray "and" or scale: nothing to read
      continue;
    }
    digits += String(value);
    at += used;
  }
  return digits;
}

/**
 * One compositional number from `at`: "twenty five", "twenty five hundred", "one thousand two
 * hundred and five". Stops where a new group starts ("forty one | eleven", "four | one").
 */
function readValue(run: readonly Lexeme[], at: number): [value: number, used: number] {
  let total = 0;
  let current = 0;
  let last: "none" | "digit" | "teen" | "tens" | "scale" = "none";
  let used = 0;
  for (let i = at; i < run.length; i++) {
    const lexeme = run[i] as Lexeme;
    if (lexeme.kind === "digit" && lexeme.value > 0) {
      if (last === "digit" || last === "teen") break;
      current += lexeme.value;
      last = "digit";
    } else if (lexeme.kind === "teen" || lexeme.kind === "tens") {
      if (last !== "none" && last !== "scale") break;
      current += lexeme.value;
      last = lexeme.kind;
    } else if (lexeme.kind === "scale") {
      if (last === "none" || last === "scale") break;
      if (lexeme.value === 100) {
        if (current === 0 || current >= 100) break;
        current *= 100;
      } else {
        if (total !== 0 && total < lexeme.value * 1000) break;
        total += current * lexeme.value;
        current = 0;
      }
      last = "scale";
    } else if (lexeme.kind === "and") {
      const next = run[i + 1];
      if (last !== "scale" || !next || (next.kind !== "digit" && next.kind !== "teen" && next.kind !== "tens")) break;
    } else {
      break;
    }
    used = i - at + 1;
  }
  return [total + current, used];
}

/** The numbers in `words`, in order. */
export function numberSpans(words: readonly string[]): NumberSpan[] {
  const kept = numberWords(words);
  const spans: NumberSpan[] = [];
  let i = 0;
  while (i < words.length) {
    if (!kept[i]) {
      i += 1;
      continue;
    }
    const first = i;
    const run: Lexeme[] = [];
    while (i < words.length && kept[i]) {
      run.push(...(kept[i] as Lexeme[]));
      i += 1;
    }
    // A trailing "and" belongs to the words after it, not the number.
    let last = i - 1;
    while (last > first && run.at(-1)?.kind === "and") {
      run.pop();
      last -= 1;
    }
    const digits = readDigits(run);
    if (digits === "") continue;
    const next = normalized(words[last + 1] ?? "");
    const money = readMoney(words, kept, last, digits);
    const lone = last === first && run.length === 1 && run[0]?.kind === "digit";
    if (money) {
      spans.push({ first, last: money.last, digits: money.digits, money: money.text, ordinal: false, lone: false });
      i = money.last + 1;
    } else {
      spans.push({ first, last, digits, ordinal: ORDINALS.has(next), lone });
    }
  }
  return spans;
}

/**
 * "twenty five dollars" ($25), "… dollars and fifty cents" ($25.50), "fifty cents" ($0.50): the
 * money a number at `last` starts, with the last word it takes, or undefined.
 */
function readMoney(
  words: readonly string[],
  kept: ReadonlyArray<Lexeme[] | undefined>,
  last: number,
  digits: string,
): { last: number; text: string; digits: string } | undefined {
  const unit = normalized(words[last + 1] ?? "");
  const dollars = String(Number(digits));
  if (CENTS.has(unit) && Number(digits) < 100) {
    return { last: last + 1, text: `$0.${digits.padStart(2, "0")}`, digits: `0${digits.padStart(2, "0")}` };
  }
  if (!DOLLARS.has(unit) || digits.length > 15) return undefined;
  // "and fifty cents" or "fifty cents" after the dollars.
  let at = last + 2;
  if (normalized(words[at] ?? "") === "and") at += 1;
  const centsWords: Lexeme[] = [];
  let end = at;
  while (end < words.length && kept[end] && kept[end]?.[0]?.kind !== "and") {
    centsWords.push(...(kept[end] as Lexeme[]));
    end += 1;
  }
  if (centsWords.length > 0 && CENTS.has(normalized(words[end] ?? ""))) {
    const cents = readDigits(centsWords);
    if (cents !== "" && Number(cents) < 100) {
      const padded = cents.padStart(2, "0");
      return { last: end, text: `$${dollars}.${padded}`, digits: `${dollars}${padded}` };
    }
  }
  return { last: last + 1, text: `$${dollars}`, digits: dollars };
}

/**
 * Words that may start a number the next words complete: "oh", "double", "triple" at the end of
 * what was heard so far ("… expiry oh" may go on "four twenty seven").
 */
export function mayStartNumber(word: string): boolean {
  const text = normalized(word);
  return text === "oh" || text === "o" || REPEATS.has(text);
}
