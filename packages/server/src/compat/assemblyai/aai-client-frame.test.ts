import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readAaiFrame } from "./aai-client-frame.js";

const text = (value: string) => readAaiFrame(Buffer.from(value), false);

describe("readAaiFrame", () => {
  it("reads binary frames as audio and the four client messages", () => {
    assert.deepEqual(readAaiFrame(Buffer.from([1, 2]), true), { kind: "audio", bytes: Buffer.from([1, 2]) });
    assert.deepEqual(text('{"type":"Terminate"}'), { kind: "message", message: { type: "Terminate" } });
    const update = text('{"type":"UpdateConfiguration","format_turns":true,"max_turn_silence":900,"new_field":1}');
    assert.deepEqual(update, {
      kind: "message",
      message: { type: "UpdateConfiguration", format_turns: true, max_turn_silence: 900 },
    });
  });

  it("names each bad text frame with AssemblyAI's code", () => {
    const codes = (value: string) => {
      const frame = text(value);
      return frame.kind === "fault" ? frame.code : frame.kind;
    };
    assert.equal(codes("not json"), "invalid_json");
    assert.equal(codes('{"type":"Nope"}'), "invalid_message_type");
    assert.equal(codes('{"type":"terminate"}'), "invalid_message_type");
    assert.equal(codes("[]"), "invalid_message");
    assert.equal(codes("null"), "invalid_message");
    assert.equal(codes('{"type":7}'), "invalid_message");
    assert.equal(codes('{"type":"UpdateConfiguration","format_turns":"yes"}'), "invalid_message");
    assert.equal(codes('{"type":"UpdateConfiguration","vad_threshold":2}'), "invalid_message");
  });
});
