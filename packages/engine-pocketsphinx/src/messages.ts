/**
 * Messages between `PocketSphinxEngine` (the server process) and its decoding processes (IPC with
 * the `advanced` serialization). Audio travels as Int16Array, cloned without JSON; errors travel as
 * messages, since Error objects lose their class in structured clone.
 */

import type { EngineEvent, HostShutdown, StartReply, StreamReply, StreamRequest } from "@earshot/engines";
import type { DecoderArgs, LibraryPaths } from "./binding.js";
import type { DecoderPoolStats } from "./decoder-pool.js";
import type { DecoderState } from "./decoder-state.js";

export interface WorkerConfig {
  readonly decoderArgs: DecoderArgs;
  readonly libraryPaths: LibraryPaths;
  /** Decoders the process makes before it is ready and keeps however idle. */
  readonly decoders: number;
  /** At most this many decoders in the process; utterances beyond them wait for one. */
  readonly maxDecoders: number;
  /** A decoder beyond `decoders` idle this long (ms) is freed. */
  readonly idleDecoderMs: number;
  /**
   * Lend decoders per utterance (default); false: each stream keeps the one it first borrowed until
   * it ends (checkpoints are taken all the same, so its words are the same either way).
   */
  readonly lend: boolean;
  /** Under load, small pushes are decoded once this much audio (ms) is queued or has waited this long; 0: never batched. */
  readonly batchMs: number;
  /** Decoders after the first share the first one's model (decoder-maker.ts). */
  readonly shareModel: boolean;
  /**
   * Acoustic adaptation for telephone streams (absent: none): the MLLR transform file they decode
   * with, and one that changes nothing, which returns a decoder to the plain model for other streams.
   */
  readonly telephoneMllr?: { readonly path: string; readonly identity: string };
}

/**
 * Where a stream stands after a flush, with everything its next utterance depends on: the decoder's
 * carried state (decoder-state.ts) and this side's counters. A session restored from it, on any
 * decoder, decodes the audio after it exactly as the session that took it would (issue 15, item 3).
 * Plain numbers: it crosses IPC and can be stored.
 */
export interface SessionCheckpoint {
  readonly decoder: DecoderState;
  /** Samples decoded before it (a whole number of blocks: a flush empties the block). */
  readonly samples: number;
  readonly lastEndMs: number;
  readonly utteranceStartMs: number;
  readonly partialAt: number;
  readonly processingMs: number;
  /** Flushes the session had handled when it was taken. */
  readonly flushes: number;
}

export type ToWorker =
  /** The first message: the process answers `ready` or `failed`. */
  | { readonly type: "init"; readonly config: WorkerConfig }
  /** `from`: continue a stream from its last checkpoint (its process crashed). */
  | {
      readonly type: "open";
      readonly streamId: number;
      readonly wordTimestamps: boolean;
      /** 8 kHz audio upsampled (a phone call): decoded with `WorkerConfig.telephoneMllr`, if any. */
      readonly telephone: boolean;
      /** A file transcription: it takes turns after live streams (round-order.ts). */
      readonly batch?: boolean;
      readonly from?: SessionCheckpoint;
    }
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
  | { readonly type: "consumed"; readonly streamId: number; readonly samples: number; readonly busyMs: number }
  /** The stream's state after a flush: where it continues on another process if this one dies. */
  | { readonly type: "checkpoint"; readonly streamId: number; readonly checkpoint: SessionCheckpoint }
  /** The process's decoder pool changed. */
  | { readonly type: "pool"; readonly stats: DecoderPoolStats };
