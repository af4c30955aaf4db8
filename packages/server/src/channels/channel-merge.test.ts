import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServerMessage, SessionStartedMessage, TranscriptMessage } from "@earshot/protocol";
import type { SessionConnection } from "../session-types.js";
import { ChannelMerge } from "./channel-merge.js";

/** The client's connection, recording what it is told. */
function client() {
  const sent: ServerMessage[] = [];
  const closes: number[] = [];
  const paused: boolean[] = [];
  const connection: SessionConnection = {
    send: (m) => sent.push(m),
    redeliver: (m) => sent.push(m),
    error: (code, message) => sent.push({ type: "error", code, message: message ?? "", retryable: false }),
    close: (code) => closes.push(code),
    pause: (p) => paused.push(p),
  };
  return { connection, sent, closes, paused };
}

const final = (segmentId: number): TranscriptMessage => ({
  type: "transcript",
  is_final: true,
  text: "hello",
  segment_id: segmentId,
  start_ms: 0,
  end_ms: 100,
  language: "en",
});

describe("ChannelMerge", () => {
  it("tags results, acks the lower position, one stream_closed and one close once both channels closed", () => {
    const c = client();
    const merge = new ChannelMerge({ id: "s", resumeToken: "rt_s", connection: () => c.connection });
    const [left, right] = merge.connections;
    left.send(final(0));
    right.send({ type: "utterance_end", last_word_end_ms: 90, segment_id: 4 });
    left.send({ type: "ack", received_samples: 8000 });
    right.send({ type: "ack", received_samples: 4000 });
    right.send({ type: "ack", received_samples: 8000 });
    left.send({ type: "stream_closed", audio_ms: 500 });
    left.close(1000, "stream closed");
    assert.deepEqual(c.closes, []);
    right.send({ type: "stream_closed", audio_ms: 500 });
    right.close(1000, "stream closed");
    assert.deepEqual(c.sent, [
      { ...final(0), channel: 0 },
      { type: "utterance_end", last_word_end_ms: 90, segment_id: 4, channel: 1 },
      { type: "ack", received_samples: 4000 },
      { type: "ack", received_samples: 8000 },
      { type: "stream_closed", audio_ms: 500 },
    ]);
    assert.deepEqual(c.closes, [1000]);
  });

  it("the first error is the stream's; any other close ends it at once; a paused channel pauses the client", () => {
    const c = client();
    const merge = new ChannelMerge({ id: "s", resumeToken: "rt_s", connection: () => c.connection });
    const [left, right] = merge.connections;
    left.pause(true);
    right.pause(true);
    left.pause(false);
    right.pause(false);
    assert.deepEqual(c.paused, [true, true, true, false]);
    right.error("session_too_long");
    left.error("engine_unavailable");
    right.close(1008, "session_too_long");
    assert.deepEqual(
      c.sent.map((m) => (m.type === "error" ? m.code : m.type)),
      ["session_too_long"],
    );
    assert.deepEqual(c.closes, [1008]);
  });

  it("one session_started for both, with the composite's id and token; a resume says session_resumed first", () => {
    const c = client();
    const merge = new ChannelMerge({ id: "s", resumeToken: "rt_s", connection: () => c.connection });
    const [left, right] = merge.connections;
    const started = (id: string): SessionStartedMessage => ({
      type: "session_started",
      protocol_version: 1,
      session_id: id,
      config: {
        model: "m",
        language: "en",
        encoding: "pcm_s16le",
        sample_rate: 16000,
        chunk_overlap_ms: 0,
        start_sample: 0,
        first_segment_id: 0,
        numerals: false,
        redact: [],
        channels: 2,
      },
      resume_token: `rt_${id}`,
      resume_grace_ms: 30_000,
    });
    left.send(started("a"));
    assert.deepEqual(c.sent, []);
    right.send(started("b"));
    assert.equal(c.sent.length, 1);
    assert.deepEqual(c.sent[0], {
      ...started("b"),
      session_id: "s",
      resume_token: "rt_s",
      config: { ...started("b").config, start_samples: [0, 0], first_segment_ids: [0, 0] },
    });

    merge.hold();
    left.send({ type: "session_resumed", session_id: "a", received_samples: 1600 });
    left.redeliver(final(3));
    right.send({ type: "session_resumed", session_id: "b", received_samples: 3200 });
    assert.equal(c.sent.length, 1, "held");
    merge.resumed(1600);
    assert.deepEqual(c.sent.slice(1), [
      { type: "session_resumed", session_id: "s", received_samples: 1600 },
      { ...final(3), channel: 0 },
    ]);
  });
});
