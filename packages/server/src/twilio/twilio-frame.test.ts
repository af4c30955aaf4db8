import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readTwilioFrame, TWILIO_MAX_FRAME_BYTES } from "./twilio-frame.js";

const text = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));
const codeOf = (value: unknown, isBinary = false) => {
  const frame = readTwilioFrame(text(value), isBinary);
  return frame.kind === "fault" ? frame.code : "ok";
};

const START = {
  event: "start",
  sequenceNumber: "1",
  start: {
    accountSid: "AC1",
    streamSid: "MZ1",
    callSid: "CA1",
    tracks: ["inbound", "outbound"],
    mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
    customParameters: { token: "est_x", FirstName: "Jane" },
  },
  streamSid: "MZ1",
};
const MEDIA = {
  event: "media",
  sequenceNumber: "4",
  media: { track: "inbound", chunk: "2", timestamp: "5", payload: Buffer.from([0xff, 0x7f, 0x00]).toString("base64") },
  streamSid: "MZ1",
};

describe("readTwilioFrame", () => {
  it("reads Twilio's documented messages, counts as numbers", () => {
    const frame = readTwilioFrame(text(MEDIA), false);
    assert.equal(frame.kind, "message");
    if (frame.kind !== "message" || frame.message.event !== "media") return;
    assert.equal(frame.message.sequenceNumber, 4);
    assert.equal(frame.message.media.timestamp, 5);
    assert.deepEqual([...(frame.audio ?? [])], [0xff, 0x7f, 0x00]);
    assert.equal(codeOf(START), "ok");
    assert.equal(codeOf({ event: "connected", protocol: "Call", version: "1.0.0" }), "ok");
    assert.equal(codeOf({ event: "mark", sequenceNumber: "4", streamSid: "MZ1", mark: { name: "x" } }), "ok");
    assert.equal(
      codeOf({ event: "dtmf", streamSid: "MZ1", sequenceNumber: "5", dtmf: { track: "inbound_track", digit: "1" } }),
      "ok",
    );
    assert.equal(
      codeOf({ event: "stop", sequenceNumber: "5", stop: { accountSid: "AC1", callSid: "CA1" }, streamSid: "MZ1" }),
      "ok",
    );
    assert.equal(codeOf({ ...MEDIA, future: { field: 1 } }), "ok", "fields Twilio may add are ignored");
  });

  it("gives each malformed frame its fault code", () => {
    assert.equal(codeOf("{nope"), "twilio_bad_json");
    assert.equal(codeOf("[1,2]"), "twilio_bad_json");
    assert.equal(codeOf("null"), "twilio_bad_json");
    assert.equal(codeOf(MEDIA, true), "twilio_binary_frame");
    assert.equal(codeOf({ event: "closed" }), "twilio_unknown_event");
    assert.equal(codeOf({ sequenceNumber: "1" }), "twilio_unknown_event");
    assert.equal(codeOf({ ...MEDIA, sequenceNumber: "-1" }), "twilio_invalid_message");
    assert.equal(codeOf({ ...MEDIA, media: { ...MEDIA.media, timestamp: "soon" } }), "twilio_invalid_message");
    assert.equal(codeOf({ ...START, start: { ...START.start, tracks: "inbound" } }), "twilio_invalid_message");
    assert.equal(codeOf({ ...MEDIA, media: { ...MEDIA.media, payload: "a b c" } }), "twilio_bad_base64");
    assert.equal(codeOf({ ...MEDIA, media: { ...MEDIA.media, payload: "abc" } }), "twilio_bad_base64");
    assert.equal(codeOf({ ...MEDIA, pad: "x".repeat(TWILIO_MAX_FRAME_BYTES) }), "twilio_frame_too_large");
  });
});
