import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServerMessage, TranscriptMessage } from "@earshot/protocol";
import { digitByDigit, timedFinals } from "./spoken-forms.test.helper.js";
import {
  HOLD_SILENCE_MS,
  MAX_HELD_FINALS,
  MAX_HOLD_WALL_MS,
  type TextOptions,
  TranscriptText,
} from "./transcript-text.js";

const PCI: TextOptions = { numerals: false, redact: ["pci"] };
const CARD = digitByDigit("4111111111111111");

/** A stage with a clock the test moves. */
function stage(options: TextOptions = PCI) {
  const clock = { now: 0 };
  return { text: new TranscriptText(options, () => clock.now), clock };
}

const texts = (messages: readonly ServerMessage[]) =>
  messages.map((m) => (m.type === "transcript" ? `${m.segment_id}:${m.text}` : m.type));

function partialOf(words: string[]): TranscriptMessage {
  const [final] = timedFinals([words]);
  assert.ok(final);
  const partial = Object.fromEntries(Object.entries(final).filter(([key]) => key !== "speech_final"));
  return { ...(partial as TranscriptMessage), is_final: false };
}

describe("TranscriptText: finals held back", () => {
  it("holds a final that ends in a number; the next final releases both, judged together", () => {
    const { text } = stage();
    const [first, second] = timedFinals([
      ["card", ...CARD.slice(0, 8)],
      [...CARD.slice(8), "thanks"],
    ]);
    assert.ok(first && second);
    assert.deepEqual(text.final(first), []);
    assert.equal(text.holding, true);
    assert.deepEqual(texts(text.final(second)), ["0:card [REDACTED_PCI]", "1:[REDACTED_PCI] thanks"]);
    assert.equal(text.holding, false);
  });

  it("sends a final that ends in words at once", () => {
    const { text } = stage();
    const [final] = timedFinals([["hello", "two", "cats", "here"]]);
    assert.ok(final);
    assert.deepEqual(text.final(final), [final]);
  });

  it("what follows a held final (utterance_end, checkpoint) waits behind it, in order", () => {
    const { text } = stage();
    const [first, second] = timedFinals([CARD.slice(0, 4), ["bye"]]);
    assert.ok(first && second);
    text.final(first);
    const end = { type: "utterance_end", last_word_end_ms: 1150, segment_id: 0 } as const;
    const checkpoint = { type: "checkpoint", sample: 20000, state: "e30", last_segment_id: 0 } as const;
    assert.deepEqual(text.after(end), []);
    assert.deepEqual(text.after(checkpoint), []);
    assert.deepEqual(texts(text.final(second)), ["0:four one one one", "utterance_end", "checkpoint", "1:bye"]);
    assert.deepEqual(text.after(end), [end], "nothing held: at once");
  });

  it("releases after HOLD_SILENCE_MS of decoded audio without speech, not before", () => {
    const { text } = stage();
    const [final] = timedFinals([CARD.slice(0, 8)]);
    assert.ok(final);
    text.final(final);
    assert.deepEqual(text.tick(final.end_ms + HOLD_SILENCE_MS - 1), []);
    assert.deepEqual(texts(text.tick(final.end_ms + HOLD_SILENCE_MS)), [`0:${CARD.slice(0, 8).join(" ")}`]);
  });

  it("once speech follows, waits for the next final however long it takes", () => {
    const { text, clock } = stage();
    const [first, second] = timedFinals([CARD.slice(0, 8), CARD.slice(8)]);
    assert.ok(first && second);
    text.final(first);
    text.heard();
    clock.now = MAX_HOLD_WALL_MS * 3;
    assert.deepEqual(text.tick(first.end_ms + HOLD_SILENCE_MS * 10), []);
    assert.deepEqual(texts(text.final(second)), []);
    assert.deepEqual(texts(text.flush()), ["0:[REDACTED_PCI]", "1:[REDACTED_PCI]"]);
  });

  it("releases after MAX_HOLD_WALL_MS without speech, when the audio stopped coming", () => {
    const { text, clock } = stage();
    const [final] = timedFinals([CARD.slice(0, 8)]);
    assert.ok(final);
    text.final(final);
    clock.now = MAX_HOLD_WALL_MS - 1;
    assert.deepEqual(text.tick(final.end_ms), []);
    clock.now = MAX_HOLD_WALL_MS;
    assert.equal(text.tick(final.end_ms).length, 1);
  });

  it("the wall clock counts only while a client is connected: one that comes back replays the rest", () => {
    const { text, clock } = stage();
    const [final] = timedFinals([CARD.slice(0, 8)]);
    assert.ok(final);
    text.final(final);
    clock.now = MAX_HOLD_WALL_MS * 5;
    assert.deepEqual(text.tick(final.end_ms, false), [], "dropped: held");
    clock.now += MAX_HOLD_WALL_MS - 1;
    assert.deepEqual(text.tick(final.end_ms, true), [], "back for less than the wall time");
    clock.now += 1;
    assert.equal(text.tick(final.end_ms, true).length, 1);
  });

  it(`holds at most ${MAX_HELD_FINALS} finals; one more releases them all`, () => {
    const { text } = stage();
    const finals = timedFinals(Array.from({ length: MAX_HELD_FINALS + 1 }, () => ["one"]));
    for (const final of finals.slice(0, MAX_HELD_FINALS)) assert.deepEqual(text.final(final), []);
    const last = finals.at(-1);
    assert.ok(last);
    assert.equal(text.final(last).length, MAX_HELD_FINALS + 1);
    assert.equal(text.holding, false);
  });

  it("a held final ending in 'oh' or 'double' may start a number: held too", () => {
    const { text } = stage();
    const [first, second] = timedFinals([
      ["expiry", "oh"],
      ["four", "two", "seven"],
    ]);
    assert.ok(first && second);
    assert.deepEqual(text.final(first), []);
    assert.equal(text.final(second).length, 0);
    assert.deepEqual(texts(text.flush()), ["0:expiry oh", "1:four two seven"]);
  });

  it("numerals alone hold nothing back", () => {
    const { text } = stage({ numerals: true, redact: [] });
    const [final] = timedFinals([["pay", "twenty", "five", "dollars", "to", "four", "one", "one", "one"]]);
    assert.ok(final);
    assert.deepEqual(texts(text.final(final)), ["0:pay $25 to 4111"]);
  });

  it("without options, messages pass unchanged", () => {
    const { text } = stage({ numerals: false, redact: [] });
    const [final] = timedFinals([CARD]);
    assert.ok(final);
    assert.deepEqual(text.final(final), [final]);
    const partial = partialOf(CARD);
    assert.equal(text.partial(partial), partial);
  });
});

describe("TranscriptText: partials", () => {
  it("mask every spoken number, and a last word that may start one", () => {
    const { text } = stage();
    assert.equal(text.partial(partialOf(["i", "have", "two", "cats"])).text, "i have [REDACTED_PCI] cats");
    assert.equal(
      text.partial(partialOf(["card", ...CARD.slice(0, 5), "uh", "one"])).text,
      "card [REDACTED_PCI] uh [REDACTED_PCI]",
    );
    assert.equal(text.partial(partialOf(["expiry", "oh"])).text, "expiry [REDACTED_PCI]");
    assert.equal(text.partial(partialOf(["oh", "i", "see"])).text, "oh i see");
  });

  it("mask with the broadest kind asked for, then apply numerals to the rest", () => {
    const { text } = stage({ numerals: true, redact: ["ssn", "numbers", "pci"] });
    const masked = text.partial(partialOf(["pay", "twenty", "five", "dollars", "by", "card"]));
    assert.equal(masked.text, "pay [REDACTED_NUMBER] by card");
    assert.deepEqual(
      masked.words?.map((w) => [w.word, w.start_ms, w.end_ms]),
      [
        ["pay", 0, 250],
        ["[REDACTED_NUMBER]", 300, 1150],
        ["by", 1200, 1450],
        ["card", 1500, 1750],
      ],
    );
  });
});
