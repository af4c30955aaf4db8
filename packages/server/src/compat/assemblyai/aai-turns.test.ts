import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TranscriptMessage } from "@earshot/protocol";
import { AaiTurns } from "./aai-turns.js";

function transcript(isFinal: boolean, text: string): TranscriptMessage {
  const words = text === "" ? [] : text.split(" ");
  return {
    type: "transcript",
    is_final: isFinal,
    ...(isFinal ? { speech_final: true } : {}),
    text,
    segment_id: 0,
    start_ms: 1000,
    end_ms: 1000 + 300 * words.length,
    language: "en",
    words: words.map((word, i) => ({ word, start_ms: 1000 + 300 * i, end_ms: 1250.4 + 300 * i, confidence: 0.9 })),
  };
}

describe("AaiTurns", () => {
  it("makes partials unfinished turns and finals ended ones, moving turn_order on", () => {
    const turns = new AaiTurns(false);
    const [partial] = turns.from(transcript(false, "go forward"));
    assert.equal(partial?.end_of_turn, false);
    assert.equal(partial?.transcript, "");
    assert.deepEqual(
      partial?.words.map((w) => [w.text, w.start, w.end, w.word_is_final]),
      [
        ["go", 1000, 1250, false],
        ["forward", 1300, 1550, false],
      ],
    );
    const ended = turns.from(transcript(true, "go forward ten meters"));
    assert.equal(ended.length, 1);
    assert.equal(ended[0]?.end_of_turn, true);
    assert.equal(ended[0]?.transcript, "go forward ten meters");
    assert.equal(ended[0]?.utterance, "go forward ten meters");
    assert.equal(ended[0]?.turn_order, 0);
    assert.equal(turns.from(transcript(true, "stop"))[0]?.turn_order, 1);
  });

  it("formats an ended turn when asked: numerals, a capital and a full stop", () => {
    const turns = new AaiTurns(true);
    const [plain, formatted] = turns.from(transcript(true, "go forward ten meters"));
    assert.equal(plain?.turn_is_formatted, false);
    assert.equal(formatted?.turn_is_formatted, true);
    assert.equal(formatted?.transcript, "Go forward 10 meters.");
    assert.equal(formatted?.turn_order, plain?.turn_order);
  });

  it("drops an empty final unless a partial of its turn went out", () => {
    const turns = new AaiTurns(false);
    assert.deepEqual(turns.from(transcript(true, "")), []);
    turns.from(transcript(false, "uh"));
    assert.equal(turns.from(transcript(true, ""))[0]?.end_of_turn, true);
  });
});
