import assert from "node:assert/strict";
import { test } from "node:test";
import { parseServerMessage } from "./server-messages.js";

test("accepts well-formed messages and ignores unknown types", () => {
  const transcript = {
    type: "transcript",
    is_final: true,
    text: "alpha",
    segment_id: 0,
    start_ms: 0,
    end_ms: 200,
    language: "en",
    words: [{ word: "alpha", start_ms: 0, end_ms: 200, confidence: 1 }],
  };
  assert.deepEqual(parseServerMessage(JSON.stringify(transcript)), { ok: true, message: transcript });
  assert.deepEqual(parseServerMessage('{"type":"something_new"}'), { ok: true, message: undefined });
  const end = { type: "utterance_end", last_word_end_ms: 200, segment_id: 0 };
  assert.deepEqual(parseServerMessage(JSON.stringify(end)), { ok: true, message: end });
});

test("rejects non-JSON, missing type and wrongly typed fields", () => {
  for (const text of [
    "not json",
    "[]",
    '{"no":"type"}',
    '{"type":"transcript","is_final":"yes","text":"","segment_id":0,"start_ms":0,"end_ms":0,"language":"en"}',
    '{"type":"transcript","is_final":true,"text":"","segment_id":0,"start_ms":0,"end_ms":0,"language":"en","words":[{}]}',
    '{"type":"error","code":"x","message":"m"}',
    '{"type":"utterance_end","last_word_end_ms":"200","segment_id":0}',
    '{"type":"session_started","protocol_version":1,"session_id":"s","config":null}',
  ]) {
    assert.equal(parseServerMessage(text).ok, false, text);
  }
});
