import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Word } from "@earshot/protocol";
import { withNumerals } from "./numerals.js";
import { numberSpans } from "./spoken-numbers.js";

const CONFIDENCES = [0.9, 0.5, 0.7, 0.6, 0.8];

/** `text`'s words, 300 ms apart from 1000 ms, each 250 ms long, confidences from CONFIDENCES in turn. */
function words(text: string): Word[] {
  return text.split(" ").map((word, i) => ({
    word,
    start_ms: 1000 + 300 * i,
    end_ms: 1000 + 300 * i + 250,
    confidence: CONFIDENCES[i % CONFIDENCES.length] ?? 1,
  }));
}

const numerals = (text: string) =>
  withNumerals(words(text))
    .map((w) => w.word)
    .join(" ");

describe("numerals", () => {
  const cases: Array<[spoken: string, written: string]> = [
    ["four one one one", "4111"],
    ["card four one one one one one one one", "card 41111111"],
    ["forty one eleven", "4111"],
    ["nineteen eighty four", "1984"],
    ["twenty twenty four", "2024"],
    ["double four", "44"],
    ["triple seven", "777"],
    ["double oh seven", "007"],
    ["four oh oh one", "4001"],
    ["zero four", "04"],
    ["oh four twenty seven", "0427"],
    ["twenty five hundred", "2500"],
    ["one thousand two hundred", "1200"],
    ["one thousand two hundred and five", "1205"],
    ["one hundred and five apples", "105 apples"],
    ["three hundred twenty", "320"],
    ["two million", "2000000"],
    ["twenty cats", "20 cats"],
    ["ten", "10"],
    ["twenty-five", "25"],
    ["call five five five one two three four now", "call 5551234 now"],
    ["twenty five dollars", "$25"],
    ["twenty five dollars and fifty cents", "$25.50"],
    ["one dollar", "$1"],
    ["fifty cents", "$0.50"],
    ["two thousand five hundred dollars please", "$2500 please"],
    ["five twenty dollars", "$520"],
    ["4111 1111", "41111111"],
  ];
  for (const [spoken, written] of cases) {
    it(`"${spoken}" → "${written}"`, () => assert.equal(numerals(spoken), written));
  }

  const unchanged = [
    "no one came",
    "i have two cats and three dogs",
    "oh i see",
    "oh",
    "the twenty fifth of may",
    "on the first of june",
    "hundreds of people",
    "a hundred people",
    "double trouble",
    "and",
    "one and all",
  ];
  for (const text of unchanged) {
    it(`"${text}" stays words`, () => assert.equal(numerals(text), text));
  }

  it("a number's word spans its words: first start to last end, the lowest confidence", () => {
    assert.deepEqual(withNumerals(words("pay twenty five dollars now")), [
      { word: "pay", start_ms: 1000, end_ms: 1250, confidence: 0.9 },
      { word: "$25", start_ms: 1300, end_ms: 2150, confidence: 0.5 },
      { word: "now", start_ms: 2200, end_ms: 2450, confidence: 0.8 },
    ]);
  });

  it("ignores case and punctuation an engine may add", () => {
    assert.equal(numerals("Four, one one one."), "4111");
  });
});

describe("numberSpans", () => {
  it("finds each number with its words and digits", () => {
    const spans = numberSpans("my card is four one one one and the code is one two three".split(" "));
    assert.deepEqual(
      spans.map((s) => [s.first, s.last, s.digits]),
      [
        [3, 6, "4111"],
        [11, 13, "123"],
      ],
    );
  });

  it("marks lone digit words, ordinals and money", () => {
    const [lone] = numberSpans(["one"]);
    assert.equal(lone?.lone, true);
    const [ordinal] = numberSpans(["twenty", "fifth"]);
    assert.equal(ordinal?.ordinal, true);
    const [money] = numberSpans(["ten", "dollars"]);
    assert.deepEqual([money?.money, money?.last], ["$10", 1]);
  });
});
