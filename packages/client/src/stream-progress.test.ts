import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TranscriptMessage } from "@earshot/protocol";
import { StreamProgress } from "./stream-progress.js";

const final = (segmentId: number, endMs: number, channel?: number): TranscriptMessage => ({
  type: "transcript",
  is_final: true,
  text: "x",
  segment_id: segmentId,
  start_ms: 0,
  end_ms: endMs,
  language: "en",
  ...(channel === undefined ? {} : { channel }),
});

describe("StreamProgress with two channels", () => {
  test("each channel's finals once by its own segment ids; resume ids and restart per channel", () => {
    const progress = new StreamProgress(2);
    assert.equal(progress.accept(final(0, 1000, 0)), true);
    assert.equal(progress.accept(final(0, 2000, 1)), true, "channel 1's segment 0 is news");
    assert.equal(progress.accept(final(0, 1000, 0)), false, "a re-sent final");
    assert.equal(progress.accept(final(1, 3000, 1)), true);
    assert.deepEqual(progress.lastFinalIds, [0, 1]);
    // Audio after the earlier channel's last final may still be needed.
    assert.equal(progress.finalEndSample, 16_000);
    // A new session for a lost one: each channel from the end of its own last final, with its own next id.
    assert.deepEqual(progress.newSession(100_000), {
      startSample: 16_000,
      firstSegmentId: 1,
      channels: { startSamples: [16_000, 48_000], firstSegmentIds: [1, 2] },
    });
    // A checkpoint continues one channel: a two-channel stream keeps none.
    progress.checkpointed({ type: "checkpoint", sample: 16_000, state: "e30", last_segment_id: 0, channel: 0 });
    assert.equal(progress.forgetCheckpoint(), false);
  });

  test("one channel is as before", () => {
    const progress = new StreamProgress();
    assert.equal(progress.accept(final(0, 1000)), true);
    assert.equal(progress.lastFinalId, 0);
    assert.deepEqual(progress.lastFinalIds, [0]);
    assert.equal(progress.finalEndSample, 16_000);
  });
});
