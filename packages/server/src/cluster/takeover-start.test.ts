import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { takeoverStart } from "./takeover-start.js";

const checkpoint = { sample: 48_000, state: "eyJhIjoxfQ", last_segment_id: 2 };
const record = { checkpoint, lastSegmentId: 2, lastFinalEndMs: 2_800 };

describe("takeoverStart", () => {
  it("continues exactly from the record's checkpoint when it follows the client's last final", () => {
    assert.deepEqual(takeoverStart(record, 2, 44_800), {
      sample: 48_000,
      firstSegmentId: 3,
      resumeState: "eyJhIjoxfQ",
      from: "checkpoint",
    });
    assert.equal(takeoverStart(record, 2, undefined)?.from, "checkpoint");
  });

  it("starts a fresh decoder where the client's last final ended when the checkpoint is of another final", () => {
    // The client got a final the record's checkpoint does not follow (written after it), or missed one.
    assert.deepEqual(takeoverStart(record, 3, 60_800), { sample: 60_800, firstSegmentId: 4, from: "client_final" });
    assert.deepEqual(takeoverStart(record, 1, 30_000), { sample: 30_000, firstSegmentId: 2, from: "client_final" });
  });

  it("does not use a checkpoint before the audio the client still holds", () => {
    assert.deepEqual(takeoverStart(record, 2, 50_000), { sample: 50_000, firstSegmentId: 3, from: "client_final" });
  });

  it("uses the record's last final when the client did not say where its own ended", () => {
    const withoutCheckpoint = { ...record, checkpoint: undefined };
    assert.deepEqual(takeoverStart(withoutCheckpoint, 2, undefined), {
      sample: 44_800,
      firstSegmentId: 3,
      from: "record_final",
    });
    // Before any final: where the session started (its start_sample), as the record says.
    assert.deepEqual(takeoverStart({ checkpoint: undefined, lastSegmentId: -1, lastFinalEndMs: 0 }, -1, undefined), {
      sample: 0,
      firstSegmentId: 0,
      from: "record_final",
    });
  });

  it("gives no start when no point is certain", () => {
    assert.equal(takeoverStart({ ...record, checkpoint: undefined }, 3, undefined), undefined);
    assert.equal(takeoverStart(record, 5, undefined), undefined);
  });
});
