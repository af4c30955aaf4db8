/**
 * Fuzz: random speech with card numbers in it (read in random ways, split over up to three
 * utterances at pauses shorter than the hold), fed as the engine would (growing partials with
 * misheard words, finals, endpoints, pauses) through `TranscriptSegments`, the path the server's
 * sessions use. No word of a card number may appear in any message sent, partial or final, nor in
 * the finals kept for a resume; every final comes once, in order, each utterance_end after its final.
 * Seeded: a failure names its seed and can be replayed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineWord } from "@earshot/engines";
import type { ServerMessage, TranscriptMessage } from "@earshot/protocol";
import { TranscriptSegments } from "../transcript-segments.js";
import { REDACTION_TOKENS } from "./redaction.js";
import { CARDS, chunks, digitByDigit, inPairs, withCheckDigit, withDoubles } from "./spoken-forms.test.helper.js";
import { HOLD_SILENCE_MS } from "./transcript-text.js";

const RUNS = 300;
const CONTEXT = ["my", "card", "number", "is", "okay", "thanks", "the", "and", "yes", "so", "please", "expiry", "code"];
const FILLERS = ["uh", "um"];
const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"];
const TOKENS = new Set(Object.values(REDACTION_TOKENS));

/** mulberry32: a small seeded PRNG. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const between = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[between(0, items.length - 1)] as T;
  return { next, between, pick, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof random>;

interface Utterance {
  readonly words: string[];
  /** Which of `words` belong to a card number. */
  readonly secret: boolean[];
  /** The pause after it, in ms. */
  readonly pauseMs: number;
}

const TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

function cardWords(rng: Random, card: string): string[] {
  const words: string[] = [];
  for (const [i, group] of chunks(card, rng.pick([2, 3, 4, 4, 5])).entries()) {
    const read = rng.pick([digitByDigit(group), digitByDigit(group, "oh"), inPairs(group), withDoubles(group)]);
    // "forty" then "five" is 45 to anyone: a reader of 40 then 5… pauses between them.
    const ambiguous = TENS.includes(words.at(-1) ?? "") && DIGITS.slice(1, 10).includes(read[0] ?? "");
    if (ambiguous || (i > 0 && rng.chance(0.2))) words.push(rng.pick(FILLERS));
    words.push(...read);
  }
  return words;
}

/** A call: utterances of context and stray numbers, some reading a card (over up to three). */
function call(rng: Random): Utterance[] {
  const utterances: Utterance[] = [];
  const count = rng.between(2, 8);
  for (let u = 0; u < count; u++) {
    if (rng.chance(0.4)) {
      const card = rng.chance(0.5)
        ? rng.pick(CARDS)
        : withCheckDigit(Array.from({ length: rng.between(12, 18) }, () => rng.between(0, 9)).join(""));
      const words = cardWords(rng, card);
      // A word before it: more than MAX_HELD_FINALS finals of one number are judged in parts.
      const lead = rng.chance(0.7) ? ["my", "card", "is"] : ["card"];
      const cuts = [0, words.length];
      for (let c = rng.between(0, 2); c > 0; c--) cuts.push(rng.between(1, words.length - 1));
      cuts.sort((a, b) => a - b);
      for (let part = 0; part + 1 < cuts.length; part++) {
        const piece = words.slice(cuts[part], cuts[part + 1]);
        if (piece.length === 0) continue;
        const before = part === 0 ? lead : [];
        const last = part + 2 === cuts.length;
        const after = last && rng.chance(0.5) ? ["thanks"] : [];
        utterances.push({
          words: [...before, ...piece, ...after],
          // A hesitation says nothing of the number; its words do.
          secret: [...before.map(() => false), ...piece.map((w) => !FILLERS.includes(w)), ...after.map(() => false)],
          // A card read on after a pause: shorter than the hold.
          pauseMs: last ? rng.between(300, 6000) : rng.between(300, HOLD_SILENCE_MS - 500),
        });
      }
      continue;
    }
    const words: string[] = [];
    for (let w = rng.between(1, 8); w > 0; w--) {
      if (rng.chance(0.25)) words.push(...Array.from({ length: rng.between(1, 4) }, () => rng.pick(DIGITS)));
      else words.push(rng.pick(CONTEXT));
    }
    if (words.every((w) => DIGITS.includes(w))) words.push(rng.pick(CONTEXT));
    utterances.push({ words, secret: words.map(() => false), pauseMs: rng.between(300, 6000) });
  }
  return utterances;
}

interface Secret {
  readonly startMs: number;
  readonly endMs: number;
}

/** Feeds the call to a session's segments as an engine would; returns what was sent, and the card words' spans. */
function feed(rng: Random, utterances: readonly Utterance[], numerals: boolean) {
  const segments = new TranscriptSegments(
    { language: "en", wordTimestamps: true, interimResults: true, text: { numerals, redact: ["pci"] } },
    0,
    () => 0,
  );
  const sent: ServerMessage[] = [];
  const secrets: Secret[] = [];
  let at = 500;
  for (const utterance of utterances) {
    const words: EngineWord[] = utterance.words.map((word, i) => {
      const w = { word, startMs: at, endMs: at + 250, confidence: 0.9 };
      if (utterance.secret[i]) secrets.push({ startMs: w.startMs, endMs: w.endMs });
      at += 300;
      return w;
    });
    const event = (upTo: number) => {
      const heard = words.slice(0, upTo);
      return {
        text: heard.map((w) => w.word).join(" "),
        startMs: words[0]?.startMs ?? at,
        endMs: heard.at(-1)?.endMs ?? at,
        words: heard,
      };
    };
    for (let k = 1; k <= words.length; k++) {
      const partial = { type: "partial" as const, ...event(k) };
      // An engine revises: a misheard last word first, sometimes.
      if (rng.chance(0.2)) {
        const misheard = [
          ...partial.words.slice(0, -1),
          { ...(partial.words.at(-1) as EngineWord), word: rng.pick(DIGITS) },
        ];
        const revised = { ...partial, words: misheard, text: misheard.map((w) => w.word).join(" ") };
        const out = segments.partial(revised);
        if (out) sent.push(out.message);
      }
      const out = segments.partial(partial);
      if (out) sent.push(out.message);
    }
    sent.push(...segments.final({ type: "final", speechFinal: true, ...event(words.length) }).send);
    sent.push(...segments.endpoint(at));
    at += utterance.pauseMs;
    sent.push(...segments.tick(at, true));
  }
  sent.push(...segments.flush());
  return { sent, secrets, kept: segments.finalsAfter(-1) };
}

/** A card word shown: a sent word that is not a redaction token over a card word's time. */
function leaks(message: TranscriptMessage, secrets: readonly Secret[]): string[] {
  return (message.words ?? [])
    .filter((w) => !TOKENS.has(w.word) && secrets.some((s) => w.start_ms < s.endMs && s.startMs < w.end_ms))
    .map((w) => `${w.word}@${w.start_ms}`);
}

describe("redaction fuzz: no card number digit is ever sent", () => {
  for (let seed = 1; seed <= RUNS; seed++) {
    it(`seed ${seed}`, () => {
      const rng = random(seed);
      const utterances = call(rng);
      const { sent, secrets, kept } = feed(rng, utterances, rng.chance(0.5));
      const transcripts = sent.filter((m): m is TranscriptMessage => m.type === "transcript");
      for (const message of [...transcripts, ...kept]) {
        const shown = leaks(message, secrets);
        assert.deepEqual(shown, [], `${message.is_final ? "final" : "partial"} ${message.segment_id}: ${message.text}`);
        // Text and words agree: the text is the words.
        assert.equal(message.text, (message.words ?? []).map((w) => w.word).join(" "));
      }
      const finals = transcripts.filter((m) => m.is_final);
      assert.deepEqual(
        finals.map((f) => f.segment_id),
        utterances.map((_, i) => i),
        "every final once, in order",
      );
      assert.deepEqual(kept, finals, "kept for a resume as sent");
      sent.forEach((m, i) => {
        if (m.type !== "utterance_end") return;
        const before = sent.slice(0, i).filter((x): x is TranscriptMessage => x.type === "transcript" && x.is_final);
        assert.equal(before.at(-1)?.segment_id, m.segment_id, "utterance_end right after its final's release");
      });
      if (secrets.length > 0) {
        assert.ok(finals.some((f) => f.text.includes(REDACTION_TOKENS.pci)));
      }
    });
  }
});
