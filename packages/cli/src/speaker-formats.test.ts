import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatSpeakerTranscript, type SpeakerSegment } from "./speaker-formats.js";

const speakers = ["customer", "agent"];
const segments: SpeakerSegment[] = [
  {
    channel: 1,
    speaker: "agent",
    text: "how can i help",
    startMs: 200,
    endMs: 1100,
    words: [{ word: "how", startMs: 200, endMs: 400, confidence: 0.9 }],
  },
  { channel: 0, speaker: "customer", text: "", startMs: 900, endMs: 950 },
  { channel: 0, speaker: "customer", text: "my card <is> lost", startMs: 1500, endMs: 2600 },
];

describe("speaker formats", () => {
  it("text: one line per final, speaker first", () => {
    assert.equal(
      formatSpeakerTranscript("text", segments, speakers, 3000),
      "[agent] how can i help\n[customer] my card <is> lost\n",
    );
  });

  it("srt: numbered cues with the speaker as a prefix", () => {
    assert.equal(
      formatSpeakerTranscript("srt", segments, speakers, 3000),
      "1\n00:00:00,200 --> 00:00:01,100\n[agent] how can i help\n\n2\n00:00:01,500 --> 00:00:02,600\n[customer] my card <is> lost\n",
    );
  });

  it("vtt: a voice span per cue, markup escaped", () => {
    assert.equal(
      formatSpeakerTranscript("vtt", segments, ["a<b", "agent"], 3000).split("\n\n")[2],
      "00:00:01.500 --> 00:00:02.600\n<v customer>my card &lt;is&gt; lost\n",
    );
  });

  it("json: channels, and every segment with channel, speaker, times and words", () => {
    const parsed = JSON.parse(formatSpeakerTranscript("json", segments, speakers, 3000));
    assert.deepEqual(parsed.channels, [
      { channel: 0, speaker: "customer" },
      { channel: 1, speaker: "agent" },
    ]);
    assert.equal(parsed.duration_ms, 3000);
    assert.deepEqual(parsed.segments[0], {
      id: 0,
      channel: 1,
      speaker: "agent",
      start_ms: 200,
      end_ms: 1100,
      text: "how can i help",
      words: [{ word: "how", start_ms: 200, end_ms: 400, confidence: 0.9 }],
    });
    assert.equal(parsed.segments[1].speaker, "customer");
    assert.equal(parsed.text, "[agent] how can i help\n[customer] my card <is> lost");
  });
});
