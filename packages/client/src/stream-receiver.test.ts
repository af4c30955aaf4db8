import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TranscriptMessage } from "@earshot/protocol";
import { TranscriptAggregator } from "./aggregator.js";
import type { ClientEvents } from "./client-types.js";
import { CloseDeadline } from "./close-deadline.js";
import { StreamReceiver } from "./stream-receiver.js";

function transcript(segmentId: number, isFinal: boolean, text: string): TranscriptMessage {
  const startMs = segmentId * 1000;
  return {
    type: "transcript",
    is_final: isFinal,
    text,
    segment_id: segmentId,
    start_ms: startMs,
    end_ms: startMs + 500,
    language: "en",
  };
}

function receiver() {
  const emitted: [keyof ClientEvents, unknown][] = [];
  let progressed = 0;
  const transcriptAggregator = new TranscriptAggregator();
  const stream = new StreamReceiver({
    transcripts: [transcriptAggregator],
    closeDeadline: new CloseDeadline(60_000, () => assert.fail("the deadline was never started")),
    emit: (event, payload) => emitted.push([event, payload]),
    progressed: () => progressed++,
  });
  return { stream, emitted, transcript: transcriptAggregator, progressed: () => progressed };
}

describe("StreamReceiver", () => {
  test("each final once, in order: a re-sent final and a late partial of a final segment are dropped", () => {
    const { stream, emitted, transcript: aggregated, progressed } = receiver();
    stream.receive(transcript(0, false, "one"));
    stream.receive(transcript(0, true, "one two"));
    stream.receive(transcript(0, false, "one"));
    stream.receive(transcript(0, true, "one two"));
    stream.receive(transcript(1, true, "three"));
    assert.deepEqual(
      emitted.map(([event, payload]) => [event, (payload as TranscriptMessage).text]),
      [
        ["partial", "one"],
        ["final", "one two"],
        ["final", "three"],
      ],
    );
    assert.equal(aggregated.finalText, "one two three");
    assert.equal(stream.progress.lastFinalId, 1);
    assert.equal(stream.progress.finalEndSample, 1500 * 16);
    assert.equal(progressed(), 2);
  });

  test("acks move the progress; warnings and utterance ends become events; stream_closed is recorded", () => {
    const { stream, emitted, progressed } = receiver();
    stream.receive(transcript(0, true, "one"));
    stream.receive({ type: "ack", received_samples: 32_000 });
    assert.equal(progressed(), 2);
    assert.equal(stream.progress.neededFromSample, 500 * 16);
    stream.receive({ type: "warning", code: "empty_audio", message: "no samples" });
    stream.receive({ type: "utterance_end", last_word_end_ms: 500, segment_id: 0 });
    assert.deepEqual(emitted.slice(1), [
      ["warning", { code: "empty_audio", message: "no samples" }],
      ["utterance_end", { type: "utterance_end", last_word_end_ms: 500, segment_id: 0 }],
    ]);
    assert.equal(stream.streamClosed, false);
    assert.equal(stream.audioMs, undefined);
    stream.receive({ type: "stream_closed", audio_ms: 2000 });
    assert.equal(stream.streamClosed, true);
    assert.equal(stream.audioMs, 2000);
  });
});

describe("StreamProgress: checkpoints", () => {
  const checkpoint = (sample: number, lastSegmentId: number) =>
    ({ type: "checkpoint", sample, state: `state-${sample}`, last_segment_id: lastSegmentId }) as const;

  test("a new session continues the last checkpoint, and the audio back to it is kept", () => {
    const { stream } = receiver();
    stream.receive(transcript(0, true, "one"));
    stream.receive(checkpoint(16_000, 0));
    stream.receive(transcript(1, true, "two"));
    stream.receive({ type: "ack", received_samples: 40_000 });
    assert.equal(stream.progress.neededFromSample, 16_000);
    assert.deepEqual(stream.progress.newSession(40_000), {
      startSample: 16_000,
      firstSegmentId: 1,
      resumeState: "state-16000",
    });
    // The finals it decodes again keep their segment ids: dropped as already delivered.
    assert.equal(stream.progress.accept(transcript(1, true, "two")), false);
  });

  test("without a checkpoint, or once the server refused it, from the end of the last final", () => {
    const { stream } = receiver();
    stream.receive(transcript(0, true, "one"));
    assert.deepEqual(stream.progress.newSession(40_000), { startSample: 8_000, firstSegmentId: 1 });
    stream.receive(checkpoint(16_000, 0));
    assert.equal(stream.progress.forgetCheckpoint(), true);
    assert.equal(stream.progress.forgetCheckpoint(), false);
    assert.deepEqual(stream.progress.newSession(40_000), { startSample: 8_000, firstSegmentId: 1 });
  });

  test("a checkpoint after finals not delivered, or older than the one kept, is ignored", () => {
    const { stream } = receiver();
    stream.receive(checkpoint(16_000, 3));
    assert.equal(stream.progress.newSession(40_000).resumeState, undefined);
    stream.receive(checkpoint(32_000, -1));
    stream.receive(checkpoint(16_000, -1));
    assert.equal(stream.progress.newSession(40_000).resumeState, "state-32000");
  });
});
