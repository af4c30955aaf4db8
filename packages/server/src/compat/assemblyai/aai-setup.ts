/**
 * What an AssemblyAI stream is given: what its upgrade decided (`AaiSetup`: the credential and the
 * parameters, or why it is refused), and what it may do (`AaiStreamContext`: open its session,
 * report its metrics), from `AaiUpgrades`.
 */
import type { Logger } from "pino";
import type { DropReason } from "../../metrics.js";
import type { LivenessTiming } from "../../peer-liveness.js";
import type { StreamSession } from "../../session.js";
import type { SessionConnection } from "../../session-types.js";
import type { AaiErrorCode } from "./aai-errors.js";
import type { AaiMetrics } from "./aai-metrics.js";
import type { AaiStreamParams } from "./aai-params.js";

/** What the upgrade decided: who the stream acts for and what it asked, or why it is refused. */
export type AaiSetup =
  | { readonly ok: true; readonly credential: AaiCredential; readonly params: AaiStreamParams }
  | { readonly ok: false; readonly code: AaiErrorCode; readonly why: string };

export interface AaiCredential {
  readonly key: string;
  readonly by: "api_key" | "token";
  /** A temporary token's own longest session (`max_session_duration_seconds`); undefined: the server's. */
  readonly maxSessionMs: number | undefined;
  /** The stream ended: its connection count (and token) are given back. Idempotent. */
  release(): void;
}

export type OpenedSession =
  | { readonly ok: true; readonly session: StreamSession }
  | { readonly ok: false; readonly code: AaiErrorCode; readonly why: string };

export interface AaiStreamContext extends LivenessTiming {
  readonly log: Logger;
  readonly metrics: AaiMetrics;
  readonly maxOutboundBytes: number;
  /** The server's longest session: `Begin`'s `expires_at`, unless the credential's is shorter. */
  readonly maxSessionMs: number;
  peerDropped(reason: DropReason): void;
  /** A session of `key` admitted and registered (not configured yet), ending at `maxSessionMs`; or why not. */
  openSession(connection: SessionConnection, key: string, maxSessionMs: number): OpenedSession;
}
