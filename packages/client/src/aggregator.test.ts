import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TranscriptMessage } from "@earshot/protocol";
import { TranscriptAggregator } from "./aggregator.js";
import { transcriptMessage } from "./transcript-message.test.helper.js";

const msg = transcriptMessage;

describe("TranscriptAggregator", () => {
  test("empty", () => {
    const agg = new TranscriptAggregator();
    assert.equal(agg.text, "");
    assert.equal(agg.finalText, "");
    assert.deepEqual(agg.words, []);
    assert.deepEqual(agg.segments, []);
    assert.equal(agg.partial, undefined);
  });

  test("partials grow, the final replaces them, the next segment starts a new partial", () => {
    const agg = new TranscriptAggregator();
    agg.add(msg(0, false, ["alpha"]));
    assert.equal(agg.text, "alpha");
    assert.equal(agg.finalText, "");
    agg.add(msg(0, false, ["alpha", "bravo"]));
    assert.equal(agg.text, "alpha bravo");
    agg.add(msg(0, true, ["alpha", "bravo", "charlie"]));
    assert.equal(agg.text, "alpha bravo charlie");
    assert.equal(agg.finalText, "alpha bravo charlie");
    assert.equal(agg.partial, undefined);
    agg.add(msg(1, false, ["delta"]));
    assert.equal(agg.text, "alpha bravo charlie delta");
    assert.equal(agg.finalText, "alpha bravo charlie");
    assert.deepEqual(
      agg.words.map((w) => [w.word, w.startMs, w.endMs]),
      [
        ["alpha", 0, 200],
        ["bravo", 200, 400],
        ["charlie", 400, 600],
        ["delta", 1000, 1200],
      ],
    );
    assert.deepEqual(
      agg.finalWords.map((w) => w.word),
      ["alpha", "bravo", "charlie"],
    );
  });

  test("a repeated final for a segment replaces it: no word twice", () => {
    const agg = new TranscriptAggregator();
    assert.equal(agg.add(msg(0, true, ["alpha", "bravo"])), true);
    assert.equal(agg.add(msg(0, true, ["alpha", "bravo"])), false);
    assert.equal(agg.add(msg(0, true, ["alpha", "bravo", "charlie"])), true);
    assert.equal(agg.finalText, "alpha bravo charlie");
    assert.equal(agg.segments.length, 1);
    assert.equal(agg.words.length, 3);
  });

  test("finals arriving out of order are kept in segment order", () => {
    const agg = new TranscriptAggregator();
    agg.add(msg(2, true, ["echo"]));
    agg.add(msg(0, true, ["alpha"]));
    agg.add(msg(1, true, ["charlie", "delta"]));
    assert.deepEqual(
      agg.segments.map((s) => s.segmentId),
      [0, 1, 2],
    );
    assert.equal(agg.finalText, "alpha charlie delta echo");
  });

  test("late partials are ignored: for a final segment, or older than the current partial", () => {
    const agg = new TranscriptAggregator();
    agg.add(msg(0, true, ["alpha"]));
    assert.equal(agg.add(msg(0, false, ["alpha"])), false);
    assert.equal(agg.partial, undefined);
    agg.add(msg(2, false, ["charlie"]));
    assert.equal(agg.add(msg(1, false, ["bravo"])), false);
    assert.equal(agg.text, "alpha charlie");
    // a final for an earlier segment keeps the later partial
    agg.add(msg(1, true, ["bravo"]));
    assert.equal(agg.text, "alpha bravo charlie");
    const current: TranscriptAggregator = agg; // (assert.equal above narrowed `agg.partial`)
    assert.equal(current.partial?.segmentId, 2);
  });

  test("empty finals add no text or spaces; missing words are fine", () => {
    const agg = new TranscriptAggregator();
    agg.add(msg(0, true, []));
    agg.add({ ...msg(1, true, ["x"]), text: "  hello world ", words: undefined } as unknown as TranscriptMessage);
    const { words: _drop, ...noWords } = msg(2, false, []);
    agg.add({ ...noWords, text: "partial" });
    assert.equal(agg.finalText, "hello world");
    assert.equal(agg.text, "hello world partial");
    assert.deepEqual(agg.words, []);
  });

  test("clear() forgets everything", () => {
    const agg = new TranscriptAggregator();
    agg.add(msg(0, true, ["alpha"]));
    agg.add(msg(1, false, ["bravo"]));
    agg.clear();
    assert.equal(agg.text, "");
    assert.equal(agg.segments.length, 0);
  });
});
