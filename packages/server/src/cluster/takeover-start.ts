/**
 * Where a session taken over from another node continues (resume on any node): no decoder state
 * survives its node, so the new node opens an engine stream at a point both sides agree on and the
 * client replays its audio from there. The client's last final (`last_segment_id` c) decides:
 *
 * 1. the record's checkpoint follows final c → continue the old engine stream exactly from it
 *    (`resume_state`), as a new session after a server restart does;
 * 2. the client said where its last final ended (`last_final_end_sample`) → a fresh decoder there;
 * 3. the record's last final is c → a fresh decoder where it ended;
 * 4. otherwise no point is certain (the record is behind the client and the client did not say):
 *    none, and the client starts a new session itself (`session_not_found`).
 *
 * The first segment id is c + 1 every time, so no final is sent twice and ids keep increasing.
 */
import { msToSamples } from "@earshot/protocol";
import type { SessionRecord } from "./session-records.js";

export interface TakeoverStart {
  /** Stream position of the new engine stream's first sample (`received_samples` of `session_resumed`). */
  readonly sample: number;
  readonly firstSegmentId: number;
  /** The checkpoint's engine state (base64url), when the stream continues exactly. */
  readonly resumeState?: string;
  readonly from: "checkpoint" | "client_final" | "record_final";
}

export function takeoverStart(
  record: Pick<SessionRecord, "checkpoint" | "lastSegmentId" | "lastFinalEndMs">,
  lastSegmentId: number,
  lastFinalEndSample: number | undefined,
): TakeoverStart | undefined {
  const firstSegmentId = lastSegmentId + 1;
  const checkpoint = record.checkpoint;
  // A checkpoint before the client's last final ended may lie before the audio it still keeps.
  const replayable = lastFinalEndSample === undefined || (checkpoint?.sample ?? -1) >= lastFinalEndSample;
  if (checkpoint?.last_segment_id === lastSegmentId && replayable) {
    return { sample: checkpoint.sample, firstSegmentId, resumeState: checkpoint.state, from: "checkpoint" };
  }
  if (lastFinalEndSample !== undefined) return { sample: lastFinalEndSample, firstSegmentId, from: "client_final" };
  if (record.lastSegmentId === lastSegmentId) {
    return { sample: msToSamples(record.lastFinalEndMs), firstSegmentId, from: "record_final" };
  }
  return undefined;
}
