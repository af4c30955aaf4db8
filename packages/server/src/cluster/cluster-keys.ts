/**
 * The Redis schema of a cluster, in one place: every key earshot writes, and how secrets are turned
 * into key names. No API key, stream token or resume token is ever stored: only SHA-256 digests,
 * so a Redis dump or `MONITOR` holds nothing usable. See docs/design/cluster.md for the TTLs.
 */
import { createHash } from "node:crypto";

const PREFIX = "earshot:";

/** A secret's digest as it appears in key names and fields (hex SHA-256, first 32 digits). */
export const secretDigest = (secret: string): string => createHash("sha256").update(secret).digest("hex").slice(0, 32);

export const clusterKeys = {
  /** SET of node ids that heartbeat (a member without its `node` key is dead and gets pruned). */
  nodes: `${PREFIX}nodes`,
  /** HASH {active, capacity, started_at, updated_at}, PX = the node lease. */
  node: (nodeId: string) => `${PREFIX}node:${nodeId}`,
  /** HASH nodeId → open streams of one API key on that node (fields of dead nodes are pruned). */
  keyStreams: (keyDigest: string) => `${PREFIX}key:${keyDigest}:streams`,
  /** HASH {key, expires_at, used, node} of one stream token, PX = the token's TTL, then the used-token TTL. */
  token: (tokenDigest: string) => `${PREFIX}token:${tokenDigest}`,
  /** HASH of one session's metadata (session-records.ts), PX = resume window + node lease. */
  session: (resumeTokenDigest: string) => `${PREFIX}session:${resumeTokenDigest}`,
} as const;
