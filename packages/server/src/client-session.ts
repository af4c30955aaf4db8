/**
 * A client's stream as its connection, the session registry, admission and shutdown see it: one
 * `StreamSession` (`config.channels: 1`), or a `TwoChannelSession` made of one `StreamSession` per
 * channel (`channels/two-channel-session.ts`).
 */
import type { ResumeMessage, StreamConfig } from "@earshot/protocol";
import type { ReleaseReason } from "./session-states.js";
import type { SessionConnection } from "./session-types.js";

export interface ClientSession {
  /** Names it in logs and in `session_started`. */
  readonly id: string;
  readonly resumeToken: string;
  /** Channels in its audio: how many `last_segment_ids` a `resume` of it carries. */
  readonly channels: 1 | 2;
  /** A config was accepted: audio may flow. */
  readonly configured: boolean;
  /** Alive without a connection, waiting for a resume. */
  readonly waiting: boolean;
  /** When it started waiting (`performance.now()`); meaningful while `waiting`. */
  readonly waitingSince: number;
  /** stream_closed was sent; kept without an engine stream until its grace ends. */
  readonly finished: boolean;
  /** Engine streams (decoders) it holds or opens: what counts against the server's and the key's streams. */
  readonly decodersHeld: number;
  /** Engine streams a resume must open again (they were given back while it waited): room it needs. */
  readonly decodersToReopen: number;
  /** How far the engine is behind on it, in ms of audio (the channel furthest behind). */
  readonly backlogMs: number;
  /** Validates the config (errors go to the connection) and starts opening its engine streams. */
  configure(config: StreamConfig): boolean;
  /** A new connection takes it over after a drop; `lastSegmentIds`: the client's last final per channel. */
  resume(connection: SessionConnection, lastSegmentIds: readonly number[]): void;
  /** The connection went away (`requested`: the client ended the stream); it waits for a resume, or ends. */
  detach(connection: SessionConnection, requested: boolean): void;
  /** One audio message; returns why it is invalid (then ignored), or undefined. */
  audio(bytes: Uint8Array, isHex: boolean): string | undefined;
  finalize(): void;
  /** close_stream: the last finals, stream_closed, close 1000. */
  finish(): void;
  /** Server shutdown: the finals the engine can still give (bounded), then a reconnect request. */
  shutdown(timeoutMs: number): Promise<void>;
  /**
   * The node drains: at its next utterance end (both channels', for two), tell the client `draining`
   * (close 1012) and end; a session with no client to tell ends at once (`session-handoff.ts`).
   */
  handOff(): void;
  /** The drain's bound passed: move now, mid-utterance if need be. */
  handOffNow(): void;
  /** Give its engine streams back while waiting for a resume; returns whether it did. */
  releaseDecoder(reason: ReleaseReason): boolean;
  /** End it if it waits for a resume: its token stops working. */
  expire(): void;
  /**
   * Another node took it over (resume on any node): it ends here now, whatever its state, and a
   * connection it still has is closed as a resume elsewhere closes it on one node.
   */
  takenOver(): void;
}

/**
 * The client's last final segment id per channel, from a `resume`: `last_segment_id` (or
 * `last_segment_ids` with one entry) for a one-channel session, `last_segment_ids` with one per
 * channel for a two-channel one.
 */
export function lastSegmentIdsOf(
  message: ResumeMessage,
  channels: 1 | 2,
): { ok: true; ids: readonly number[] } | { ok: false; message: string } {
  const ids =
    message.last_segment_ids ?? (message.last_segment_id === undefined ? undefined : [message.last_segment_id]);
  if (ids === undefined) return { ok: false, message: "resume: last_segment_id (or last_segment_ids) is required." };
  if (ids.length !== channels) {
    const needs = channels === 2 ? "last_segment_ids with one id per channel" : "last_segment_id";
    return { ok: false, message: `resume: the session has ${channels} channel(s); send ${needs}.` };
  }
  return { ok: true, ids };
}
