import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TranscriptEvent } from "@earshot/engines";
import { type TranscriptFormat, TranscriptSegments } from "./transcript-segments.js";

const FORMAT: TranscriptFormat = { language: "en", wordTimestamps: false, interimResults: true };

/** An utterance of `words` 200 ms each from `startMs`. */
function utterance(words: string[], startMs = 0): TranscriptEvent {
  return {
    text: words.join(" "),
    startMs,
    endMs: startMs + 200 * words.length,
    words: words.map((word, i) => ({
      word,
      startMs: startMs + 200 * i,
      endMs: startMs + 200 * (i + 1),
      confidence: 0.98765,
    })),
  };
}
const partial = (words: string[], startMs = 0) => ({ type: "partial" as const, ...utterance(words, startMs) });
const final = (words: string[], speechFinal = true, startMs = 0) => ({
  type: "final" as const,
  speechFinal,
  ...utterance(words, startMs),
});

describe("TranscriptSegments", () => {
  it("sends a partial only when its text changes, and says which is the utterance's first", () => {
    const segments = new TranscriptSegments(FORMAT, 0);
    assert.equal(segments.partial(partial([])), undefined, "empty text");
    const first = segments.partial(partial(["alpha"]));
    assert.equal(first?.first, true);
    assert.equal(first?.message.is_final, false);
    assert.equal(first?.message.text, "alpha");
    assert.equal(segments.partial(partial(["alpha"])), undefined, "same text");
    assert.equal(segments.partial(partial(["alpha", "bravo"]))?.first, false);
  });

  it("sends no partials without interim results, but still the finals", () => {
    const segments = new TranscriptSegments({ ...FORMAT, interimResults: false }, 0);
    assert.equal(segments.partial(partial(["alpha"])), undefined);
    assert.equal(segments.final(final(["alpha"])).made?.text, "alpha");
  });

  it("numbers finals from firstSegmentId; an utterance with no output at all makes none", () => {
    const segments = new TranscriptSegments(FORMAT, 7);
    assert.equal(segments.final(final(["alpha"])).made?.segment_id, 7);
    assert.deepEqual(segments.final(final([])), { made: undefined, send: [] }, "nothing heard, nothing sent");
    const next = segments.final(final(["bravo"], false, 1000)).made;
    assert.deepEqual(
      { id: next?.segment_id, speechFinal: next?.speech_final, start: next?.start_ms, end: next?.end_ms },
      { id: 8, speechFinal: false, start: 1000, end: 1200 },
    );
  });

  it("an empty final after a partial still closes its segment (the partial is retracted)", () => {
    const segments = new TranscriptSegments(FORMAT, 0);
    segments.partial(partial(["alpha"]));
    const empty = segments.final(final([])).made;
    assert.equal(empty?.text, "");
    assert.equal(empty?.segment_id, 0);
    assert.equal(segments.final(final(["bravo"])).made?.segment_id, 1);
  });

  it("an utterance_end follows a final at a pause, once; not a forced final", () => {
    const segments = new TranscriptSegments(FORMAT, 0);
    assert.deepEqual(segments.endpoint(100), [], "a pause after silence");
    segments.final(final(["alpha"], true));
    assert.deepEqual(segments.endpoint(200), [{ type: "utterance_end", last_word_end_ms: 200, segment_id: 0 }]);
    assert.deepEqual(segments.endpoint(200), [], "once");
    segments.final(final(["bravo"], false));
    assert.deepEqual(segments.endpoint(400), [], "a forced final");
  });

  it("words with their times and confidence (to 3 places) only when asked for", () => {
    const plain = new TranscriptSegments(FORMAT, 0).final(final(["alpha", "bravo"])).made;
    assert.equal(plain?.words, undefined);
    const timed = new TranscriptSegments({ ...FORMAT, wordTimestamps: true }, 0).final(final(["alpha", "bravo"])).made;
    assert.deepEqual(timed?.words, [
      { word: "alpha", start_ms: 0, end_ms: 200, confidence: 0.988 },
      { word: "bravo", start_ms: 200, end_ms: 400, confidence: 0.988 },
    ]);
    assert.equal(timed?.language, "en");
  });

  it("restartUtterance keeps the segment id for the utterance decoded again", () => {
    const segments = new TranscriptSegments(FORMAT, 3);
    segments.partial(partial(["alpha"]));
    segments.restartUtterance();
    const again = segments.partial(partial(["alpha"]));
    assert.equal(again?.first, true, "the same text is sent again, as the utterance's first");
    assert.equal(again?.message.segment_id, 3);
    assert.equal(segments.final(final(["alpha"])).made?.segment_id, 3);
  });

  it("keeps the last 1000 finals for resumes, after a given segment id", () => {
    const segments = new TranscriptSegments(FORMAT, 0);
    for (let i = 0; i < 1001; i++) segments.final(final(["alpha"], true, i * 1000));
    assert.deepEqual(
      segments.finalsAfter(997).map((f) => f.segment_id),
      [998, 999, 1000],
    );
    const kept = segments.finalsAfter(-1);
    assert.equal(kept.length, 1000);
    assert.equal(kept[0]?.segment_id, 1, "the oldest went first");
  });
});
