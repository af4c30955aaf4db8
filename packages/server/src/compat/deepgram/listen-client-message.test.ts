import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readListenMessage } from "./listen-client-message.js";

const text = (value: string) => readListenMessage(Buffer.from(value), false);

describe("readListenMessage", () => {
  it("binary frames are audio; an empty one ends the stream", () => {
    const audio = readListenMessage(Buffer.from([1, 2, 3]), true);
    assert.equal(audio.kind, "audio");
    assert.deepEqual(readListenMessage(Buffer.alloc(0), true), { kind: "close_stream" });
    const fragments = readListenMessage([Buffer.from([1]), Buffer.from([2])], true);
    assert.deepEqual(fragments.kind === "audio" && [...fragments.bytes], [1, 2]);
  });

  it("reads Deepgram's three messages, Finalize's channel only when it is an index", () => {
    assert.deepEqual(text('{"type":"KeepAlive"}'), { kind: "keep_alive" });
    assert.deepEqual(text('{"type":"CloseStream"}'), { kind: "close_stream" });
    assert.deepEqual(text('{"type":"Finalize"}'), { kind: "finalize", channel: undefined });
    assert.deepEqual(text('{"type":"Finalize","channel":1}'), { kind: "finalize", channel: 1 });
    for (const channel of ['"1"', "1.5", "null", "[]", "1e400"]) {
      assert.deepEqual(text(`{"type":"Finalize","channel":${channel}}`), { kind: "finalize", channel: undefined });
    }
  });

  it("ignores other JSON and refuses text that is not JSON", () => {
    assert.deepEqual(text('{"type":"Configure","processors":{}}'), { kind: "ignored", type: "Configure" });
    assert.deepEqual(text("[1,2]"), { kind: "ignored", type: "undefined" });
    assert.deepEqual(text("null"), { kind: "ignored", type: "undefined" });
    assert.deepEqual(text(`{"type":"${"x".repeat(100)}"}`), { kind: "ignored", type: "x".repeat(32) });
    assert.deepEqual(text("not json"), { kind: "invalid" });
    assert.deepEqual(text(""), { kind: "invalid" });
  });
});
