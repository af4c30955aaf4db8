/** The gate's part of a `resumeFrom` state is checked before anything is opened. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ResumeStateError } from "@earshot/engines";
import { type GateCheckpoint, parseGateCheckpoint } from "./gate-checkpoint.js";

const GOOD: GateCheckpoint = {
  inner: { atSample: 32_000, state: { anything: "the inner engine checks it" } },
  vad: { state: Array(256).fill(0.25), context: Array(64).fill(-0.5) },
};

test("a gate checkpoint, through JSON, is taken as it is", () => {
  assert.deepEqual(parseGateCheckpoint(JSON.parse(JSON.stringify(GOOD))), GOOD);
});

test("anything else is refused with invalid_resume_state", () => {
  for (const state of [
    null,
    [],
    "x",
    { vad: GOOD.vad },
    { ...GOOD, inner: { atSample: -1, state: {} } },
    { ...GOOD, inner: { atSample: 0.5, state: {} } },
    { ...GOOD, vad: undefined },
    { ...GOOD, vad: { ...GOOD.vad, state: Array(255).fill(0) } },
    { ...GOOD, vad: { ...GOOD.vad, state: [...Array(255).fill(0), "1"] } },
    { ...GOOD, vad: { ...GOOD.vad, context: Array(64).fill(2) } },
    { ...GOOD, vad: { ...GOOD.vad, context: Array(63).fill(0) } },
  ]) {
    assert.throws(
      () => parseGateCheckpoint(state),
      (error: unknown) => error instanceof ResumeStateError && error.code === "invalid_resume_state",
      JSON.stringify(state)?.slice(0, 80),
    );
  }
});
