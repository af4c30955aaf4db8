/**
 * A session's `numerals` and `redact` options applied to its transcripts, before anything is sent,
 * kept for a resume, or logged. Partials and finals are treated differently, because a partial is a
 * guess about words still being spoken and a final is settled:
 *
 * - **Partials**, while any redaction is on, show every spoken number as a mask token, whatever it
 *   turns out to be: a number still being read may yet become a card number, and a partial is sent
 *   before that is known. So are its last words when they are "oh", "double" or "triple" (they may
 *   start a number) and, while a final is held, its first such words (they may continue one). The
 *   mask is the token of the broadest kind asked for (`numbers`, then `pci`, then `ssn`).
 * - **Finals** show the decision (`redaction.ts`). A final whose last words (hesitations aside) are
 *   a number that the next final may continue is **held back**, with everything that must follow it
 *   (its `utterance_end`, a `checkpoint`), until one of: the next final arrives (the two are judged
 *   together, and the later one may be held in turn); the engine has decoded `HOLD_SILENCE_MS` of
 *   audio past the held final without hearing speech; `MAX_HOLD_WALL_MS` pass without speech while
 *   a client is connected (its audio stopped coming); the stream ends; more than `MAX_HELD_FINALS`
 *   are held. Once speech was heard after it, a held final waits for the next final: the words
 *   being spoken may continue the number.
 *
 * So a number is never sent in part before the whole of it is judged, and what is released is
 * final: segment ids, spans and order are those of the engine's finals, only later.
 */
import type { ServerMessage, TranscriptMessage, Word } from "@earshot/protocol";
import { FILLERS } from "./number-words.js";
import { spanning, withNumerals } from "./numerals.js";
import {
  decideWindow,
  NO_CARD,
  type PciMemory,
  REDACTION_TOKENS,
  type Redaction,
  type RedactKind,
} from "./redaction.js";
import { mayStartNumber, normalized, numberSpans } from "./spoken-numbers.js";

export interface TextOptions {
  readonly numerals: boolean;
  readonly redact: readonly RedactKind[];
}

export const PLAIN_TEXT: TextOptions = { numerals: false, redact: [] };

/** Decoded audio without speech after a held final that releases it. */
export const HOLD_SILENCE_MS = 3000;
/** Wall-clock time without speech after a held final that releases it (the audio stopped). */
export const MAX_HOLD_WALL_MS = 10_000;
/** Finals held at most; one more releases them all, judged as they stand. */
export const MAX_HELD_FINALS = 8;

interface Held {
  readonly final: TranscriptMessage;
  readonly words: readonly Word[];
  /** Messages that must follow this final (its utterance_end, a checkpoint). */
  readonly after: ServerMessage[];
}

export class TranscriptText {
  readonly #numerals: boolean;
  readonly #kinds: ReadonlySet<RedactKind>;
  readonly #mask: string | undefined;
  readonly #now: () => number;
  #held: Held[] = [];
  /** The last card of the finals released so far, for its CVV and expiry. */
  #memory: PciMemory = NO_CARD;
  /** When the last held final came (`now()`), where it ends (stream ms), and whether speech came since. */
  #heldAt = 0;
  #heldEndMs = 0;
  #heardSinceHold = false;

  constructor(options: TextOptions, now: () => number) {
    this.#numerals = options.numerals;
    this.#kinds = new Set(options.redact);
    this.#now = now;
    const broadest = (["numbers", "pci", "ssn"] as const).find((kind) => this.#kinds.has(kind));
    this.#mask = broadest && REDACTION_TOKENS[broadest];
  }

  /** Finals are held back now. */
  get holding(): boolean {
    return this.#held.length > 0;
  }

  /** The partial to send instead of `partial`. */
  partial(partial: TranscriptMessage): TranscriptMessage {
    if (!this.#numerals && this.#mask === undefined) return partial;
    let words = wordsOf(partial);
    if (this.#mask !== undefined) words = masked(words, this.#mask, this.holding);
    if (this.#numerals) words = withNumerals(words);
    return rebuilt(partial, words);
  }

  /** The engine heard speech (a partial with words, sent or not). */
  heard(): void {
    if (this.holding) this.#heardSinceHold = true;
  }

  /** A final made: what to send now, in order (it, finals held before it, and what followed them). */
  final(final: TranscriptMessage): ServerMessage[] {
    if (this.#kinds.size === 0) return [this.#numerals ? rebuilt(final, withNumerals(wordsOf(final))) : final];
    this.#held.push({ final, words: wordsOf(final), after: [] });
    if (this.#held.length > MAX_HELD_FINALS) return this.flush();
    const decision = decideWindow(
      this.#held.map((h) => h.words),
      this.#kinds,
      this.#memory,
    );
    const out = this.#release(decision.holdFrom, decision.redactions, decision.memoryAfter);
    if (this.holding) {
      this.#heldAt = this.#now();
      this.#heldEndMs = final.end_ms;
      this.#heardSinceHold = false;
    }
    return out;
  }

  /** A message that must follow the finals made so far: sent now, or after them when they are held. */
  after(message: ServerMessage): ServerMessage[] {
    const last = this.#held.at(-1);
    if (!last) return [message];
    last.after.push(message);
    return [];
  }

  /**
   * Releases held finals when no speech came for long enough. `decodedMs`: where the engine's
   * decoding stands (stream ms). `connected`: whether a client is there; the wall clock counts only
   * while one is, since a client that comes back replays its audio from where the number was cut.
   */
  tick(decodedMs: number, connected = true): ServerMessage[] {
    if (!this.holding || this.#heardSinceHold) return [];
    if (!connected) {
      this.#heldAt = this.#now();
      return [];
    }
    const silent = decodedMs >= this.#heldEndMs + HOLD_SILENCE_MS;
    if (silent || this.#now() - this.#heldAt >= MAX_HOLD_WALL_MS) return this.flush();
    return [];
  }

  /** Releases every held final, judged as they stand (the stream ended, or waited long enough). */
  flush(): ServerMessage[] {
    if (!this.holding) return [];
    const decision = decideWindow(
      this.#held.map((h) => h.words),
      this.#kinds,
      this.#memory,
    );
    return this.#release(this.#held.length, decision.redactions, decision.memoryAfter);
  }

  #release(count: number, redactions: readonly Redaction[], memoryAfter: readonly PciMemory[]): ServerMessage[] {
    const out: ServerMessage[] = [];
    const released = this.#held.slice(0, count);
    this.#held = this.#held.slice(count);
    released.forEach((held, index) => {
      let words = redacted(
        held.words,
        redactions.filter((r) => r.final === index),
      );
      if (this.#numerals) words = withNumerals(words);
      out.push(rebuilt(held.final, words), ...held.after);
    });
    if (count > 0) this.#memory = memoryAfter[count - 1] ?? this.#memory;
    return out;
  }
}

/**
 * The message's words, or (for transcripts without word timings) its text split at spaces, each
 * word spanning the whole segment.
 */
function wordsOf(message: TranscriptMessage): Word[] {
  if (message.words && message.words.length > 0) return message.words;
  return message.text
    .split(" ")
    .filter((w) => w !== "")
    .map((word) => ({ word, start_ms: message.start_ms, end_ms: message.end_ms, confidence: 1 }));
}

/** `message` with `words` (and its text made of them); the message itself when nothing changed. */
function rebuilt(message: TranscriptMessage, words: readonly Word[]): TranscriptMessage {
  const before = wordsOf(message);
  if (words.length === before.length && words.every((w, i) => w.word === before[i]?.word)) return message;
  const text = words.map((w) => w.word).join(" ");
  // A transcript without word timings stays without them.
  return message.words && message.words.length > 0 ? { ...message, text, words: [...words] } : { ...message, text };
}

function redacted(words: readonly Word[], redactions: readonly Redaction[]): Word[] {
  const out: Word[] = [];
  let at = 0;
  for (const r of [...redactions].sort((a, b) => a.first - b.first)) {
    out.push(...words.slice(at, r.first));
    out.push(spanning(words, r.first, r.last, REDACTION_TOKENS[r.kind]));
    at = r.last + 1;
  }
  out.push(...words.slice(at));
  return out;
}

/**
 * Every spoken number, and the last words when they may start one, as `mask`; with `continuing`
 * (a held final ends in a number), the first words too when they may go on with it ("oh oh").
 */
function masked(words: readonly Word[], mask: string, continuing: boolean): Word[] {
  const out: Word[] = [];
  let at = 0;
  for (const span of numberSpans(words.map((w) => w.word))) {
    out.push(...words.slice(at, span.first));
    out.push(spanning(words, span.first, span.last, mask));
    at = span.last + 1;
  }
  const rest = words.slice(at);
  // The words heard last may start a number ("oh", "oh oh", "double", hesitations between).
  for (let i = rest.length - 1; i >= 0; i--) {
    const word = rest[i] as Word;
    if (mayStartNumber(word.word)) rest[i] = { ...word, word: mask };
    else if (!FILLERS.has(normalized(word.word))) break;
  }
  out.push(...rest);
  for (let i = 0; continuing && i < out.length; i++) {
    const word = out[i] as Word;
    if (mayStartNumber(word.word)) out[i] = { ...word, word: mask };
    else if (!FILLERS.has(normalized(word.word))) break;
  }
  return out;
}
