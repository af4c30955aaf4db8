/** A `resumeFrom` state comes from a client: anything that is not a checkpoint is refused with a code. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ResumeStateError } from "@earshot/engines";
import type { SessionCheckpoint } from "./messages.js";
import { parseSessionCheckpoint } from "./resume-state.js";

const CHECKPOINT: SessionCheckpoint = {
  decoder: {
    cmn: { mean: Array(13).fill(0.5), sum: Array(13).fill(50), frames: 100 },
    noise: {
      power: Array(25).fill(1),
      noise: Array(25).fill(1),
      floor: Array(25).fill(1),
      peak: Array(25).fill(1),
      slowPeakSum: 2,
      undefined: false,
    },
    processedSamples: 48_000,
  },
  samples: 48_000,
  lastEndMs: 2_500,
  utteranceStartMs: 3_000,
  partialAt: 46_400,
  processingMs: 120.5,
  flushes: 2,
};

const refused = (state: unknown) =>
  assert.throws(
    () => parseSessionCheckpoint(state),
    (error: unknown) => error instanceof ResumeStateError && error.code === "invalid_resume_state",
    JSON.stringify(state)?.slice(0, 80),
  );

test("a checkpoint, through JSON, is taken as it is", () => {
  const copy = JSON.parse(JSON.stringify(CHECKPOINT));
  assert.deepEqual(parseSessionCheckpoint(copy), CHECKPOINT);
});

test("anything else is refused with invalid_resume_state", () => {
  const { decoder } = CHECKPOINT;
  for (const state of [
    null,
    "checkpoint",
    42,
    [CHECKPOINT],
    {},
    { ...CHECKPOINT, samples: -1 },
    { ...CHECKPOINT, samples: 1.5 },
    { ...CHECKPOINT, flushes: "2" },
    { ...CHECKPOINT, lastEndMs: Number.MAX_SAFE_INTEGER + 2 },
    { ...CHECKPOINT, processingMs: -3 },
    { ...CHECKPOINT, partialAt: CHECKPOINT.samples + 1 },
    { ...CHECKPOINT, decoder: undefined },
    { ...CHECKPOINT, decoder: { ...decoder, cmn: { ...decoder.cmn, mean: Array(12).fill(0) } } },
    { ...CHECKPOINT, decoder: { ...decoder, cmn: { ...decoder.cmn, frames: -1 } } },
    { ...CHECKPOINT, decoder: { ...decoder, noise: { ...decoder.noise, peak: [...decoder.noise.peak, 1] } } },
    { ...CHECKPOINT, decoder: { ...decoder, noise: { ...decoder.noise, undefined: "no" } } },
    { ...CHECKPOINT, decoder: { ...decoder, processedSamples: -5 } },
  ]) {
    refused(state);
  }
});
