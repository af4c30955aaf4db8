import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DecodedSegment } from "./batch-decode.js";
import { renderTranscript } from "./transcription-formats.js";
import type { Granularity, ResponseFormat } from "./transcription-request.js";

const SEGMENTS: DecodedSegment[] = [
  {
    text: "go forward",
    startMs: 250,
    endMs: 1_100,
    words: [
      { word: "go", startMs: 250, endMs: 500, confidence: 1 },
      { word: "forward", startMs: 500, endMs: 1_100, confidence: 1 },
    ],
  },
  { text: "ten meters", startMs: 3_723_004, endMs: 3_724_500, words: [] },
];

const render = (format: ResponseFormat, granularities: Granularity[] = ["segment"]) =>
  renderTranscript({
    segments: SEGMENTS,
    durationMs: 3_725_000,
    language: "en",
    format,
    granularities: new Set(granularities),
  });

describe("renderTranscript", () => {
  it("json: the text and usage in whole seconds", () => {
    const { contentType, body } = render("json");
    assert.equal(contentType, "application/json");
    assert.deepEqual(JSON.parse(body), { text: "go forward ten meters", usage: { type: "duration", seconds: 3725 } });
  });

  it("text, srt and vtt as text/plain, with hours in the cue times", () => {
    assert.equal(render("text").body, "go forward ten meters\n");
    assert.equal(
      render("srt").body,
      "1\n00:00:00,250 --> 00:00:01,100\ngo forward\n\n2\n01:02:03,004 --> 01:02:04,500\nten meters\n\n",
    );
    assert.equal(
      render("vtt").body,
      "WEBVTT\n\n00:00:00.250 --> 00:00:01.100\ngo forward\n\n01:02:03.004 --> 01:02:04.500\nten meters\n\n",
    );
    assert.match(render("srt").contentType, /^text\/plain/);
  });

  it("verbose_json: words and segments only as asked, in seconds, language by name", () => {
    const wordsOnly = JSON.parse(render("verbose_json", ["word"]).body);
    assert.equal(wordsOnly.language, "english");
    assert.equal(wordsOnly.duration, 3725);
    assert.deepEqual(wordsOnly.words, [
      { word: "go", start: 0.25, end: 0.5 },
      { word: "forward", start: 0.5, end: 1.1 },
    ]);
    assert.equal(wordsOnly.segments, undefined);
    const segmentsOnly = JSON.parse(render("verbose_json").body);
    assert.equal(segmentsOnly.words, undefined);
    assert.deepEqual(
      segmentsOnly.segments.map((s: { id: number; start: number; end: number; text: string }) => [
        s.id,
        s.start,
        s.end,
        s.text,
      ]),
      [
        [0, 0.25, 1.1, " go forward"],
        [1, 3723.004, 3724.5, " ten meters"],
      ],
    );
  });
});
