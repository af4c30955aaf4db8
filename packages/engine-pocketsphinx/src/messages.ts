/**
 * Messages between `PocketSphinxEngine` (the server process) and its decoding processes (IPC with
 * the `advanced` serialization). Audio travels as Int16Array, cloned without JSON; errors travel as
 * messages, since Error objects lose their class in structured clone.
 */

import type { EngineEvent, HostShutdown, StartReply, StreamReply, StreamRequest } from "@earshot/engines";
import type { DecoderArgs, LibraryPaths } from "./binding.js";

export interface WorkerConfig {
  readonly decoderArgs: DecoderArgs;
  readonly libraryPaths: LibraryPaths;
  /** Idle decoders a worker keeps for reuse; more are freed when their streams close. */
  readonly maxIdleDecoders: number;
  /** Under load, small pushes are decoded once this much audio (ms) is queued or has waited this long; 0: never batched. */
  readonly batchMs: number;
}

export type ToWorker =
  /** The first message: the process answers `ready` or `failed`. */
  | { readonly type: "init"; readonly config: WorkerConfig }
  | { readonly type: "open"; readonly streamId: number; readonly wordTimestamps: boolean }
  | { readonly type: "push"; readonly streamId: number; readonly pcm: Int16Array }
  | StreamRequest
  /** Exit now, skipping any audio still queued. */
  | HostShutdown;

/** An engine event as it crosses the process boundary: `error` carries a message, not an Error. */
export type WireEvent =
  | Exclude<EngineEvent, { readonly type: "error" }>
  | { readonly type: "error"; readonly message: string };

export type FromWorker =
  /** `ready`: the library loaded and a warm decoder exists; `failed`: the process exits after sending it. */
  | StartReply
  | StreamReply<WireEvent>
  /** A push was decoded (so the server knows how far behind the stream is). */
  | { readonly type: "consumed"; readonly streamId: number; readonly samples: number; readonly busyMs: number };
