import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeClientMessage } from "./client-message-encoder.js";
import { type ClientMessage, ClientMessageSchema, unknownFields } from "./messages.js";

const MESSAGES: ClientMessage[] = [
  { type: "config", config: { language: "en", encoding: "pcm_s16le", sample_rate: 16_000, keyterms: ["earshot"] } },
  { type: "resume", resume_token: "a".repeat(32), last_segment_id: -1 },
  { type: "audio_chunk", audio: "00ff10ef" },
  { type: "finalize" },
  { type: "keepalive" },
  { type: "close_stream" },
];

test("every client message encodes to JSON the server's schema takes back unchanged", () => {
  for (const message of MESSAGES) {
    const raw = JSON.parse(encodeClientMessage(message)) as Record<string, unknown>;
    assert.deepEqual(ClientMessageSchema.parse(raw), message);
    assert.deepEqual(unknownFields(raw), []);
  }
});

test("an audio_chunk's hex is sent as it is", () => {
  assert.equal(encodeClientMessage({ type: "audio_chunk", audio: "0a0b" }), '{"type":"audio_chunk","audio":"0a0b"}');
});
