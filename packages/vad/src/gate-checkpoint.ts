/**
 * The state a `VadGatedEngine` stream's `checkpoint` events carry: its inner engine's checkpoint
 * (with the inner timeline's position) and the Silero detector's recurrent state, both taken at the
 * endpoint decision that flushed the inner stream. Nothing else of the gate is needed there: after
 * an endpoint the `SpeechGate` is out of speech with no tentative end (its initial state), and the
 * held audio starts at the endpoint sample (the endpoint forwarded everything before it, so no
 * later pre-roll reaches back past it). So the checkpoint's `atSample` is the endpoint sample
 * itself, which is on the detector's 512-sample window grid.
 */

import { type ResumePoint, ResumeStateError } from "@earshot/engines";
import { type VadSnapshot, vadSnapshotProblem } from "./silero-vad.js";

export interface GateCheckpoint {
  /** The inner stream's checkpoint: `atSample` is on the inner (gated) timeline. */
  readonly inner: ResumePoint;
  readonly vad: VadSnapshot;
}

/** `state` as a gate checkpoint; throws `ResumeStateError` if it is not one. */
export function parseGateCheckpoint(state: unknown): GateCheckpoint {
  const problem = gateCheckpointProblem(state);
  if (problem) throw new ResumeStateError(`not a VAD-gated checkpoint: ${problem}`);
  return state as GateCheckpoint;
}

function gateCheckpointProblem(state: unknown): string | undefined {
  if (typeof state !== "object" || state === null || Array.isArray(state)) return "the state is not an object";
  const { inner, vad } = state as { inner?: unknown; vad?: unknown };
  if (typeof inner !== "object" || inner === null) return "it has no inner checkpoint";
  const { atSample } = inner as { atSample?: unknown };
  if (!Number.isSafeInteger(atSample) || (atSample as number) < 0) return "the inner position is not a sample";
  return vadSnapshotProblem(vad);
}
