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
