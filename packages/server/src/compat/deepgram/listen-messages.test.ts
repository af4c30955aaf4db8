import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TranscriptMessage } from "@earshot/protocol";
import { listenIdentity, metadata, results, speechStarted, utteranceEnd } from "./listen-messages.js";

const FINAL: TranscriptMessage = {
  type: "transcript",
  is_final: true,
  speech_final: true,
  text: "Go forward",
  segment_id: 3,
  start_ms: 1250,
  end_ms: 2125,
  language: "en",
  words: [
    { word: "Go", start_ms: 1250, end_ms: 1500, confidence: 0.5 },
    { word: "forward", start_ms: 1500, end_ms: 2125, confidence: 1 },
  ],
};

describe("Deepgram messages", () => {
  const identity = listenIdentity("req-1", "nova-3");
  const context = { ...identity, channel: [1, 2] as [number, number], endpointing: true, fromFinalize: false };

  it("a final is a Results in seconds, with its words and the model", () => {
    assert.deepEqual(results(FINAL, context), {
      type: "Results",
      channel_index: [1, 2],
      duration: 0.875,
      start: 1.25,
      is_final: true,
      speech_final: true,
      from_finalize: false,
      channel: {
        alternatives: [
          {
            transcript: "Go forward",
            confidence: 0.75,
            words: [
              { word: "go", start: 1.25, end: 1.5, confidence: 0.5, punctuated_word: "Go" },
              { word: "forward", start: 1.5, end: 2.125, confidence: 1, punctuated_word: "forward" },
            ],
          },
        ],
      },
      metadata: {
        request_id: "req-1",
        model_uuid: identity.modelUuid,
        model_info: { name: "nova-3", version: "earshot", arch: "earshot" },
      },
    });
    assert.match(identity.modelUuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(listenIdentity("other", "nova-3").modelUuid, identity.modelUuid);
  });

  it("speech_final needs endpointing; from_finalize only on finals; partials are never speech_final", () => {
    assert.equal(results(FINAL, { ...context, endpointing: false }).speech_final, false);
    assert.equal(results(FINAL, { ...context, fromFinalize: true }).from_finalize, true);
    const { speech_final: _, words, ...rest } = FINAL;
    const partial = results({ ...rest, words: words ?? [], is_final: false }, { ...context, fromFinalize: true });
    assert.equal(partial.is_final, false);
    assert.equal(partial.speech_final, false);
    assert.equal(partial.from_finalize, false);
    assert.equal(results({ ...rest, is_final: true }, context).channel.alternatives[0]?.confidence, 0);
  });

  it("UtteranceEnd, SpeechStarted and Metadata", () => {
    assert.deepEqual(utteranceEnd(2125, [0, 1]), { type: "UtteranceEnd", channel: [0, 1], last_word_end: 2.125 });
    assert.deepEqual(speechStarted(1250, [0, 1]), { type: "SpeechStarted", channel: [0, 1], timestamp: 1.25 });
    const summary = metadata(identity, {
      sha256: "ab",
      createdAt: new Date("2026-01-02T03:04:05.000Z"),
      audioMs: 2500,
      channels: 2,
    });
    assert.deepEqual(summary, {
      type: "Metadata",
      transaction_key: "deprecated",
      request_id: "req-1",
      sha256: "ab",
      created: "2026-01-02T03:04:05.000Z",
      duration: 2.5,
      channels: 2,
      models: [identity.modelUuid],
      model_info: { [identity.modelUuid]: { name: "nova-3", version: "earshot", arch: "earshot" } },
    });
  });
});
