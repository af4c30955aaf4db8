/** What a `StreamSession` is given: its limits, its connection, and the metrics it reports. */
import type { ErrorCode, ServerMessage, TranscriptMessage } from "@earshot/protocol";
import type { ServerMetrics } from "./metrics.js";

export interface SessionLimits {
  /** Largest WebSocket message accepted; larger ones end the stream with `frame_too_large`. */
  readonly maxFrameBytes: number;
  /** Longest stream, in audio and in wall-clock time, before `session_too_long`. */
  readonly maxSessionMs: number;
  /** Audio held while the engine stream opens; more than this ends the stream (engine too slow). */
  readonly maxPendingMs: number;
  /** How long a session whose connection dropped waits for a `resume`. */
  readonly resumeGraceMs: number;
  /** How long a session whose connection dropped keeps its engine stream (decoder) before releasing it. */
  readonly holdDecoderMs: number;
  /** Stop reading the client's socket while the engine is this far behind; resume below half. */
  readonly maxEngineBacklogMs: number;
  /**
   * Longest utterance, in ms of stream time from its first partial's `start_ms`: then the engine is
   * flushed, so a final comes with `speech_final: false` and the next words start a new segment.
   */
  readonly maxUtteranceMs: number;
  /** Messages a client may leave unread (bytes) before it is closed with `slow_consumer`. */
  readonly maxOutboundBytes: number;
}

/** What a session needs of its connection (a `Connection`; a fake one in unit tests). */
export interface SessionConnection {
  send(message: ServerMessage): void;
  /** A final sent again on resume. */
  redeliver(final: TranscriptMessage): void;
  /** Sends the error; closes with its close code when it has one. */
  error(code: ErrorCode, message?: string): void;
  close(code: number, reason: string): void;
  /** Stop reading the socket (the engine is behind), or start again. */
  pause(paused: boolean): void;
}

/** The metrics a session reports. */
export type SessionMetrics = Pick<
  ServerMetrics,
  "audioReceived" | "engineUsage" | "finalLatency" | "firstPartialLatency" | "forcedFinal"
>;
