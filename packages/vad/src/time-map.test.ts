import assert from "node:assert/strict";
import { test } from "node:test";
import { TimeMap } from "./time-map.js";

test("inner times map back to the stream across skipped silence", () => {
  const map = new TimeMap(0, 16);
  map.forwarded(16 * 1000, 16 * 500); // stream 1000..1500 ms → inner 0..500
  map.forwarded(16 * 1500, 16 * 500); // continues: same segment
  map.forwarded(16 * 4000, 16 * 1000); // stream 4000..5000 → inner 1000..2000
  assert.equal(map.toStreamMs(0), 1000);
  assert.equal(map.toStreamMs(900), 1900);
  assert.equal(map.toStreamMs(1000), 4000);
  assert.equal(map.toStreamMs(1500), 4500);
  // An end time at a run's end stays in that run, not at the next run's start.
  assert.equal(map.toStreamMs(1000, true), 2000);
  assert.equal(map.innerMs(), 2000);
});

test("a stream that starts later (a resumed session) reports from its start sample", () => {
  const map = new TimeMap(16 * 60_000, 16);
  map.forwarded(16 * 200, 16 * 100);
  assert.equal(map.toStreamMs(50), 60_250);
  assert.equal(map.streamMs(16 * 200), 60_200);
  const event = map.event({
    type: "final",
    speechFinal: true,
    text: "a",
    startMs: 10,
    endMs: 100,
    words: [{ word: "a", startMs: 10, endMs: 100, confidence: 1 }],
  });
  assert.deepEqual(
    event.type === "final" && [event.startMs, event.endMs, event.words[0]?.endMs],
    [60_210, 60_300, 60_300],
  );
});

test("a word whose first frames fall before a join is timed from the run it is heard in", () => {
  const map = new TimeMap(0, 16);
  map.forwarded(0, 16 * 1000); // stream 0..1000 ms → inner 0..1000 (speech, then the gate's pad)
  map.forwarded(16 * 4000, 16 * 1000); // stream 4000..5000 → inner 1000..2000
  const event = map.event({
    type: "final",
    speechFinal: true,
    text: "four",
    startMs: 950,
    endMs: 1400,
    words: [{ word: "four", startMs: 950, endMs: 1400, confidence: 1 }],
  });
  // Measured back from the later run (50 ms before its start), not 50 ms before the earlier run's end.
  assert.deepEqual(
    event.type === "final" && [event.startMs, event.words[0]?.startMs, event.words[0]?.endMs],
    [3950, 3950, 4400],
  );
  // A word wholly inside one run keeps its place; never before the earlier run's end.
  const inside = map.event({
    type: "final",
    speechFinal: true,
    text: "go",
    startMs: 100,
    endMs: 900,
    words: [{ word: "go", startMs: 100, endMs: 900, confidence: 1 }],
  });
  assert.deepEqual(inside.type === "final" && [inside.startMs, inside.words[0]?.endMs], [100, 900]);
  const far = map.event({
    type: "final",
    speechFinal: true,
    text: "x",
    startMs: 10,
    endMs: 1100,
    words: [{ word: "x", startMs: 10, endMs: 1100, confidence: 1 }],
  });
  // A join's gap is shorter than the offset back: the start stays at the earlier run's end.
  const gapless = new TimeMap(0, 16);
  gapless.forwarded(0, 16 * 1000);
  gapless.forwarded(16 * 1050, 16 * 1000); // a 50 ms gap
  const clamped = gapless.event({
    type: "final",
    speechFinal: true,
    text: "x",
    startMs: 900,
    endMs: 1400,
    words: [{ word: "x", startMs: 900, endMs: 1400, confidence: 1 }],
  });
  assert.deepEqual(clamped.type === "final" && clamped.words[0]?.startMs, 1000);
  // A word mostly before the join stays where it began.
  assert.deepEqual(far.type === "final" && far.words[0]?.startMs, 10);
});
