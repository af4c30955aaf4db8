import assert from "node:assert/strict";
import { test } from "node:test";
import { VAD_WINDOW_SAMPLES } from "./silero-vad.js";
import { type GateDecision, SpeechGate } from "./speech-gate.js";

/** Feed one probability per 32 ms window; returns the decisions with their window index. */
function run(gate: SpeechGate, probabilities: readonly number[]): Array<[number, GateDecision]> {
  const decisions: Array<[number, GateDecision]> = [];
  probabilities.forEach((p, i) => {
    const decision = gate.observe(p, (i + 1) * VAD_WINDOW_SAMPLES);
    if (decision) decisions.push([i, decision]);
  });
  return decisions;
}

const gate = (endpointingMs: number) => new SpeechGate({ threshold: 0.5, endpointingMs, sampleRate: 16_000 });

test("speech starts at the first window at the threshold and ends after endpointingMs of silence", () => {
  // 3 silent windows, 5 speech windows, then silence: 10 windows = 320 ms >= 300 ms.
  const decisions = run(gate(300), [0.1, 0.2, 0.3, 0.9, 0.95, 0.9, 0.8, 0.7, ...Array(12).fill(0.05)]);
  assert.deepEqual(decisions, [
    [3, { type: "onset", atSample: 3 * VAD_WINDOW_SAMPLES }],
    [17, { type: "endpoint", speechEndSample: 8 * VAD_WINDOW_SAMPLES }],
  ]);
});

test("a pause shorter than endpointingMs does not end the utterance; speech resets it", () => {
  const short = [0.9, 0.9, ...Array(5).fill(0.05), 0.9, 0.9];
  assert.deepEqual(
    run(gate(300), short).map(([, d]) => d.type),
    ["onset"],
  );
  // Between the two thresholds (0.35..0.5) a tentative end neither starts nor is cancelled.
  const hovering = [0.9, 0.1, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4];
  const decisions = run(gate(300), hovering);
  assert.deepEqual(decisions.at(-1), [10, { type: "endpoint", speechEndSample: VAD_WINDOW_SAMPLES }]);
});

test("a shorter endpointing ends the same utterance sooner", () => {
  const audio = [0.9, 0.9, ...Array(20).fill(0)];
  const at = (ms: number) => run(gate(ms), audio).find(([, d]) => d.type === "endpoint")?.[0];
  const early = at(100);
  const late = at(500);
  assert.ok(early !== undefined && late !== undefined && early < late, `${early} < ${late}`);
  assert.equal(early, 2 + Math.ceil(100 / 32) - 1);
});
