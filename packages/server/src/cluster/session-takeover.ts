/**
 * Resume on any node: a `resume` for a session this node does not hold, looked up in the session
 * records (session-records.ts). The record must be of the connection's API key (a resume token of
 * one key is refused for another, as on one node); the node takes it over with a compare-and-set
 * of its `node` field (of two nodes racing for it, one wins; the other answers
 * `session_not_found`), opens the session here under the same id and resume token, and continues
 * it where `takeoverStart` says, answering `session_resumed` (`moved: true`).
 *
 * Every refusal is `session_not_found` (the client then starts a new session from its last final or
 * checkpoint, as after a server restart), except a full node's `over_capacity`, which the client
 * retries. Redis away: `session_not_found`, as a node alone answers.
 */
import { type ResumeMessage, type StreamConfig, StreamConfigSchema } from "@earshot/protocol";
import type { Logger } from "pino";
import { lastSegmentIdsOf } from "../client-session.js";
import type { StreamSession } from "../session.js";
import type { SessionIdentity } from "../session-identity.js";
import type { Cluster, ClusterResumeOutcome } from "./cluster.js";
import { secretDigest } from "./cluster-keys.js";
import type { SessionRecord } from "./session-records.js";
import { takeoverStart } from "./takeover-start.js";

/** What a takeover needs of the connection that asks for it. */
export interface TakeoverHost {
  readonly cluster: Cluster;
  /** The connection's API key. */
  readonly key: string;
  readonly log: Logger;
  /** Whether the node has room for the session's engine stream now; when not, `over_capacity` was sent. */
  admit(): boolean;
  /** A session here with these names, on the connection, registered under its resume token (not configured yet). */
  open(identity: SessionIdentity): StreamSession;
  /** Answers `session_not_found`. */
  notFound(): void;
}

export async function takeOverSession(host: TakeoverHost, message: ResumeMessage): Promise<StreamSession | undefined> {
  const { cluster, log } = host;
  const resumeToken = message.resume_token;
  const record = await cluster.sessionRecord(resumeToken);
  const refused = (outcome: ClusterResumeOutcome, why: string): undefined => {
    cluster.resumeOutcome(outcome);
    log.info({ outcome, node: record?.node }, `resume of a session held elsewhere refused: ${why}`);
    if (outcome !== "over_capacity") host.notFound();
    return undefined;
  };
  if (!record) return refused("not_found", record === null ? "no record" : "Redis did not answer");
  if (record.keyDigest !== secretDigest(host.key)) return refused("other_key", "the session is another key's");
  const continued = continuedConfig(record, message);
  if (!continued.ok) return refused("unresumable", continued.why);
  if (!(await cluster.claimSession(resumeToken, record.node))) {
    return refused("lost_race", "another node took it over first");
  }
  // After the takeover, so that two resumes racing here are counted one after the other.
  if (!host.admit()) return refused("over_capacity", "no room here");
  const session = host.open({ id: record.sessionId, resumeToken });
  if (!session.continueMoved(continued.config)) {
    cluster.resumeOutcome("unresumable");
    return undefined;
  }
  cluster.resumeOutcome("resumed");
  log.info(
    {
      session: session.id,
      from: record.node,
      startSample: continued.config.start_sample,
      startFrom: continued.startFrom,
    },
    "session continued from another node",
  );
  return session;
}

type Continued =
  | { readonly ok: true; readonly config: StreamConfig; readonly startFrom: string }
  | { readonly ok: false; readonly why: string };

/** The client's config from the record, positioned where the stream continues; or why it cannot be. */
function continuedConfig(record: SessionRecord, message: ResumeMessage): Continued {
  const parsed = StreamConfigSchema.safeParse(record.config);
  if (!parsed.success) return { ok: false, why: "the record's config is not valid" };
  // A two-channel stream would need a start per channel: not continued on another node.
  if ((parsed.data.channels ?? 1) !== 1) return { ok: false, why: "a two-channel stream" };
  const ids = lastSegmentIdsOf(message, 1);
  if (!ids.ok) return { ok: false, why: ids.message };
  const start = takeoverStart(record, ids.ids[0] ?? -1, message.last_final_end_sample);
  if (!start) return { ok: false, why: "no certain point to continue from" };
  const { resume_state: _old, ...config } = parsed.data;
  return {
    ok: true,
    startFrom: start.from,
    config: {
      ...config,
      start_sample: start.sample,
      first_segment_id: start.firstSegmentId,
      ...(start.resumeState === undefined ? {} : { resume_state: start.resumeState }),
    },
  };
}
