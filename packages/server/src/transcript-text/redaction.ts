/**
 * `redact` (after Deepgram's option of that name): which spoken numbers to hide, and behind which
 * token. Decided over a window of consecutive finals, so that a number read across a pause that
 * split it into two finals is judged whole.
 *
 * A *sequence* is a run of spoken numbers (see `spoken-numbers.ts`) with nothing between them but
 * hesitations ("uh", "um", "dash", "slash") or the boundary between two finals; its digits are the
 * numbers' digits in order. A sequence is redacted, as one token per final it touches, under
 * - `pci` when it holds a card number: 13–19 digits that pass the Luhn check, starting where the
 *   sequence or a part of it starts (a part: what lies between hesitations and final boundaries),
 *   and ending where the sequence or a part ends, or 3 to 8 digits before the sequence ends (a CVV
 *   and expiry read straight on). All of the sequence goes. Or it is one of the next
 *   `PCI_FOLLOWERS` sequences of 3–6 digits (CVV, expiry MMYY or MMYYYY) that start within
 *   `PCI_FOLLOW_MS` of a card's end;
 * - `ssn` when it has exactly 9 digits that can be a US Social Security number (area not 000, 666 or 9xx,
 *   group not 00, serial not 0000), however grouped;
 * - `numbers` when it has 3 or more digits (Deepgram: "any sequence of three or more consecutive numerals").
 * Money ("twenty five dollars") is a sequence of its own, never part of a card or SSN.
 */
import type { Word } from "@earshot/protocol";
import { FILLERS } from "./number-words.js";
import { mayStartNumber, normalized, numberSpans } from "./spoken-numbers.js";

export const REDACT_KINDS = ["pci", "ssn", "numbers"] as const;
export type RedactKind = (typeof REDACT_KINDS)[number];

/** What a redacted sequence becomes, in text and words. */
export const REDACTION_TOKENS: Readonly<Record<RedactKind, string>> = {
  pci: "[REDACTED_PCI]",
  ssn: "[REDACTED_SSN]",
  numbers: "[REDACTED_NUMBER]",
};

/** A card's CVV and expiry are looked for this long after it (stream time), */
export const PCI_FOLLOW_MS = 30_000;
/** … in at most this many sequences. */
export const PCI_FOLLOWERS = 2;

export function isRedactKind(name: string): name is RedactKind {
  return (REDACT_KINDS as readonly string[]).includes(name);
}

/** What a window's decision leaves for the next one: the last card, for its CVV and expiry. */
export interface PciMemory {
  readonly cardEndMs: number | undefined;
  readonly followersLeft: number;
}
export const NO_CARD: PciMemory = { cardEndMs: undefined, followersLeft: 0 };

/** Words `first`..`last` (inclusive) of final `final` of the window become one `kind` token. */
export interface Redaction {
  readonly final: number;
  readonly first: number;
  readonly last: number;
  readonly kind: RedactKind;
}

export interface WindowDecision {
  readonly redactions: readonly Redaction[];
  /** The PCI memory after each final of the window. */
  readonly memoryAfter: readonly PciMemory[];
  /**
   * The first final to hold back: the window ends in a sequence (or in "oh", "double", "triple")
   * that the next final may continue, and this is the first final it touches (or an earlier one,
   * where another sequence runs from it into the held ones). The window's length when nothing is
   * open.
   */
  readonly holdFrom: number;
}

interface Sequence {
  /** Positions in the window's words, all finals in a row. */
  readonly first: number;
  readonly last: number;
  readonly digits: string;
  /** Offsets in `digits` where a part starts: 0, after a hesitation, at a new final. */
  readonly starts: readonly number[];
  readonly money: boolean;
}

interface Placed {
  readonly final: number;
  readonly index: number;
  readonly word: Word;
}

/** Decides the window `finals` (their words, in order), given the memory of the finals before it. */
export function decideWindow(
  finals: readonly (readonly Word[])[],
  kinds: ReadonlySet<RedactKind>,
  memoryBefore: PciMemory,
): WindowDecision {
  const placed: Placed[] = finals.flatMap((words, final) => words.map((word, index) => ({ final, index, word })));
  const sequences = sequencesOf(placed);
  const redactions: Redaction[] = [];
  const memoryAfter: PciMemory[] = [];
  let memory = memoryBefore;
  let next = 0;
  for (let final = 0; final < finals.length; final++) {
    // Sequences are judged once they end, in the final they end in.
    for (; next < sequences.length; next++) {
      const sequence = sequences[next] as Sequence;
      if ((placed[sequence.last] as Placed).final !== final) break;
      const [kind, after] = judge(sequence, placed, kinds, memory);
      memory = after;
      if (kind) redactions.push(...split(sequence, placed, kind));
    }
    memoryAfter.push(memory);
  }
  return { redactions, memoryAfter, holdFrom: holdFrom(finals.length, sequences, placed) };
}

/** The window's sequences; its words are read as one run, since the pause between finals is no word. */
function sequencesOf(placed: readonly Placed[]): Sequence[] {
  const sequences: Sequence[] = [];
  const words = placed.map((p) => p.word.word);
  let open: { first: number; last: number; digits: string; starts: number[] } | undefined;
  const close = () => {
    if (open) sequences.push({ ...open, money: false });
    open = undefined;
  };
  for (const { first, last, digits, money } of numberSpans(words)) {
    if (money) {
      close();
      sequences.push({ first, last, digits, starts: [0], money: true });
      continue;
    }
    if (!open || !onlyFillersBetween(placed, open.last, first)) {
      close();
      open = { first, last: first - 1, digits: "", starts: [] };
    }
    const at = open.digits.length;
    open.starts.push(at);
    // Where a new final starts inside the span: the digits its words before that read.
    for (let i = first + 1; i <= last; i++) {
      if ((placed[i] as Placed).final === (placed[i - 1] as Placed).final) continue;
      const before = numberSpans(words.slice(first, i))
        .map((span) => span.digits)
        .join("");
      open.starts.push(at + before.length);
    }
    open.last = last;
    open.digits += digits;
  }
  close();
  return sequences;
}

function onlyFillersBetween(placed: readonly Placed[], after: number, before: number): boolean {
  for (let i = after + 1; i < before; i++) {
    if (!FILLERS.has(normalized((placed[i] as Placed).word.word))) return false;
  }
  return true;
}

function judge(
  sequence: Sequence,
  placed: readonly Placed[],
  kinds: ReadonlySet<RedactKind>,
  memory: PciMemory,
): [RedactKind | undefined, PciMemory] {
  const { digits } = sequence;
  const startMs = (placed[sequence.first] as Placed).word.start_ms;
  const endMs = (placed[sequence.last] as Placed).word.end_ms;
  if (kinds.has("pci") && !sequence.money) {
    if (holdsCardNumber(digits, sequence.starts)) return ["pci", { cardEndMs: endMs, followersLeft: PCI_FOLLOWERS }];
    const { cardEndMs, followersLeft } = memory;
    const follows = cardEndMs !== undefined && followersLeft > 0 && startMs - cardEndMs <= PCI_FOLLOW_MS;
    if (follows && digits.length >= 3 && digits.length <= 6) {
      return ["pci", { cardEndMs, followersLeft: followersLeft - 1 }];
    }
  }
  if (kinds.has("ssn") && !sequence.money && isSsn(digits)) return ["ssn", memory];
  if (kinds.has("numbers") && digits.length >= 3) return ["numbers", memory];
  return [undefined, memory];
}

/** One redaction per final the sequence touches. */
function split(sequence: Sequence, placed: readonly Placed[], kind: RedactKind): Redaction[] {
  const out: Redaction[] = [];
  for (let i = sequence.first; i <= sequence.last; i++) {
    const { final, index } = placed[i] as Placed;
    const current = out.at(-1);
    if (current && current.final === final) out[out.length - 1] = { ...current, last: index };
    else out.push({ final, first: index, last: index, kind });
  }
  return out;
}

function holdFrom(count: number, sequences: readonly Sequence[], placed: readonly Placed[]): number {
  let lastWord = placed.length - 1;
  while (lastWord >= 0 && FILLERS.has(normalized((placed[lastWord] as Placed).word.word))) lastWord -= 1;
  if (lastWord < 0) return count;
  const trailing = sequences.find((s) => s.first <= lastWord && lastWord <= s.last);
  let from: number;
  if (trailing && !trailing.money) from = (placed[trailing.first] as Placed).final;
  else if (!trailing && mayStartNumber((placed[lastWord] as Placed).word.word))
    from = (placed[lastWord] as Placed).final;
  else return count;
  // A sequence that runs from a released final into a held one would be judged in halves later.
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of sequences) {
      const start = (placed[s.first] as Placed).final;
      const end = (placed[s.last] as Placed).final;
      if (start < from && end >= from) {
        from = start;
        changed = true;
      }
    }
  }
  return from;
}

/**
 * Whether `digits` (its parts starting at `starts`) hold a card number: 13–19 digits that pass the
 * Luhn check, from a part's start to a part's end, or to 3–8 digits before the end (CVV, expiry).
 */
export function holdsCardNumber(digits: string, starts: readonly number[] = [0]): boolean {
  const ends = new Set([...starts.filter((s) => s > 0), digits.length]);
  for (const start of starts) {
    for (let length = 13; length <= 19 && start + length <= digits.length; length++) {
      const end = start + length;
      const after = digits.length - end;
      if ((ends.has(end) || (after >= 3 && after <= 8)) && luhnValid(digits.slice(start, end))) return true;
    }
  }
  return false;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Nine digits that the Social Security Administration could have issued. */
export function isSsn(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  const area = digits.slice(0, 3);
  return (
    area !== "000" && area !== "666" && area[0] !== "9" && digits.slice(3, 5) !== "00" && digits.slice(5) !== "0000"
  );
}
