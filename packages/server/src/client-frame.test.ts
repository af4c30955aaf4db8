import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readClientFrame } from "./client-frame.js";

const text = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));

describe("readClientFrame", () => {
  it("a binary frame is audio, whatever its bytes; fragments are joined", () => {
    const bytes = Buffer.from([0x7b, 0x00, 0xff]);
    assert.deepEqual(readClientFrame(bytes, true, 100), { kind: "audio", bytes });
    const joined = readClientFrame([Buffer.from([1, 2]), Buffer.from([3])], true, 100);
    assert.deepEqual(joined, { kind: "audio", bytes: Buffer.from([1, 2, 3]) });
  });

  it("a frame over the limit is too large, binary or text", () => {
    const binary = readClientFrame(Buffer.alloc(11), true, 10);
    assert.deepEqual(binary, { kind: "too_large", message: "Message of 11 bytes; the limit is 10." });
    assert.equal(
      readClientFrame(text({ type: "keepalive", pad: "xxxxxxxxxxxxxxxxxxxx" }), false, 10).kind,
      "too_large",
    );
    assert.equal(readClientFrame(Buffer.alloc(10), true, 10).kind, "audio");
  });

  it("a valid message, with the fields its schema does not know", () => {
    assert.deepEqual(readClientFrame(text({ type: "finalize" }), false, 1000), {
      kind: "message",
      message: { type: "finalize" },
      unknownFields: [],
    });
    const frame = readClientFrame(text({ type: "audio_chunk", audio: "00ff", volume: 3 }), false, 1000);
    assert.deepEqual(frame, {
      kind: "message",
      message: { type: "audio_chunk", audio: "00ff" },
      unknownFields: ["volume"],
    });
  });

  it("names what is wrong with a text frame that is not a client message", () => {
    const cases: [Buffer, string, RegExp][] = [
      [text("{nope"), "bad_json", /JSON objects/],
      [text([1, 2]), "invalid_message", /a JSON object/],
      [text("null"), "invalid_message", /a JSON object/],
      [text({ type: "transcribe" }), "unknown_message_type", /^Unknown message type "transcribe"\.$/],
      [text({ type: 7 }), "unknown_message_type", /^Unknown message type of type number\.$/],
      [text({ type: "x".repeat(100) }), "unknown_message_type", new RegExp(`"${"x".repeat(64)}"`)],
      [text({ type: "audio_chunk", audio: 5 }), "invalid_message", /^audio_chunk: audio: /],
      [
        text({ type: "resume", resume_token: "short", last_segment_id: 0 }),
        "invalid_message",
        /^resume: resume_token: /,
      ],
      [
        text({ type: "resume", resume_token: "rt_0123456789abcdef", last_segment_id: 0, last_final_end_sample: -1 }),
        "invalid_message",
        /^resume: last_final_end_sample: /,
      ],
      [
        text({ type: "resume", resume_token: "rt_0123456789abcdef", last_segment_id: 0, last_final_end_sample: 1.5 }),
        "invalid_message",
        /^resume: last_final_end_sample: /,
      ],
    ];
    for (const [bytes, code, message] of cases) {
      const frame = readClientFrame(bytes, false, 10_000);
      assert.equal(frame.kind, "invalid", bytes.toString());
      if (frame.kind !== "invalid") continue;
      assert.equal(frame.code, code, bytes.toString());
      assert.match(frame.message, message);
    }
  });
});
