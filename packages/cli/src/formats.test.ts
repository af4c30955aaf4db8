import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatTranscript, timestamp } from "./formats.js";

const segments = [
  { text: "go forward", startMs: 460, endMs: 1160, words: [{ word: "go", startMs: 460, endMs: 630, confidence: 1 }] },
  { text: "", startMs: 1200, endMs: 1300 },
  { text: "ten meters", startMs: 3_661_170, endMs: 3_662_110 },
];

describe("formats", () => {
  it("timestamps", () => {
    assert.equal(timestamp(3_661_170, ","), "01:01:01,170");
    assert.equal(timestamp(5, "."), "00:00:00.005");
  });

  it("text joins non-empty finals", () => {
    assert.equal(formatTranscript("text", segments, 4000), "go forward ten meters\n");
  });

  it("srt numbers cues from 1 and skips empty segments", () => {
    assert.equal(
      formatTranscript("srt", segments, 4000),
      "1\n00:00:00,460 --> 00:00:01,160\ngo forward\n\n2\n01:01:01,170 --> 01:01:02,110\nten meters\n",
    );
  });

  it("vtt has the header and dot separators", () => {
    assert.match(formatTranscript("vtt", segments, 4000), /^WEBVTT\n\n00:00:00\.460 --> 00:00:01\.160\ngo forward\n/);
  });

  it("json carries words and duration", () => {
    const parsed = JSON.parse(formatTranscript("json", segments, 4000));
    assert.equal(parsed.text, "go forward ten meters");
    assert.equal(parsed.duration_ms, 4000);
    assert.equal(parsed.segments.length, 2);
    assert.deepEqual(parsed.segments[0].words[0], { word: "go", start_ms: 460, end_ms: 630, confidence: 1 });
  });
});
