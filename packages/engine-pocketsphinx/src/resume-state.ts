/**
 * A PocketSphinx stream's `checkpoint` events carry its `SessionCheckpoint` as their state; a stream
 * opened with `resumeFrom` gets one back, possibly from a client that stored it across a server
 * restart. It is untrusted there: every field is checked before it reaches a decoding process.
 */

import { ResumeStateError } from "@earshot/engines";
import { decoderStateProblem } from "./decoder-state.js";
import type { SessionCheckpoint } from "./messages.js";

const COUNTERS = ["samples", "lastEndMs", "utteranceStartMs", "partialAt", "flushes"] as const;

/** `state` as a checkpoint this engine can continue from; throws `ResumeStateError` if it is not one. */
export function parseSessionCheckpoint(state: unknown): SessionCheckpoint {
  const problem = checkpointProblem(state);
  if (problem) throw new ResumeStateError(`not a pocketsphinx checkpoint: ${problem}`);
  return state as SessionCheckpoint;
}

function checkpointProblem(state: unknown): string | undefined {
  if (typeof state !== "object" || state === null || Array.isArray(state)) return "the state is not an object";
  const record = state as Record<string, unknown>;
  for (const key of COUNTERS) {
    const value = record[key];
    if (!Number.isSafeInteger(value) || (value as number) < 0) return `${key} is not a non-negative integer`;
  }
  const { processingMs, samples, partialAt } = record as { processingMs: unknown; samples: number; partialAt: number };
  if (typeof processingMs !== "number" || !Number.isFinite(processingMs) || processingMs < 0) {
    return "processingMs is not a non-negative number";
  }
  if (partialAt > samples) return "partialAt is past samples";
  return decoderStateProblem(record.decoder);
}
