/**
 * Wire messages of `/v1/audio/transcriptions/stream`, protocol version 1 (see docs/protocol.md).
 * Inbound messages are schemas (validated at the boundary); outbound ones are plain types.
 */
import { z } from "zod";
import { MAX_BAND_EXTENSION_DB, MIN_BAND_EXTENSION_DB } from "./encodings.js";
import type { ErrorCode, WarningCode } from "./errors.js";

export {
  ENCODING_SAMPLE_RATES,
  ENCODINGS,
  type Encoding,
  MAX_BAND_EXTENSION_DB,
  MIN_BAND_EXTENSION_DB,
  msToSamples,
  OPUS_FRAME_MS,
  SAMPLE_RATE,
  SAMPLES_PER_MS,
  samplesToMs,
} from "./encodings.js";

export const PROTOCOL_VERSION = 1;

/** Bounds of `config.endpointing_ms`. */
export const MIN_ENDPOINTING_MS = 10;
export const MAX_ENDPOINTING_MS = 5000;
/** Bounds of `config.keyterms`: how many terms, and characters per term. */
export const MAX_KEYTERMS = 100;
export const MAX_KEYTERM_CHARS = 100;
/** Entries of `config.redact` at most (the server knows three kinds; repeats are allowed). */
export const MAX_REDACT_ENTRIES = 8;
/** Characters of `config.resume_state` at most (a checkpoint's state is about 12 KB). */
export const MAX_RESUME_STATE_CHARS = 65_536;

export const StreamConfigSchema = z.object({
  model: z.string().max(128).optional(),
  language: z.string().min(2).max(16).optional(),
  task: z.enum(["transcribe"]).optional(),
  response_format: z.enum(["json", "verbose_json", "text"]).optional(),
  timestamp_granularity: z.enum(["word", "segment"]).optional(),
  /** earshot extension: the wire encoding of audio (hex `audio_chunk` or binary frames). */
  encoding: z.string().max(32).optional(),
  /** earshot extension: the encoding's rate (ENCODING_SAMPLE_RATES); 16000 for pcm_s16le and opus, 8000 for G.711. */
  sample_rate: z.number().int().positive().max(384_000).optional(),
  /**
   * earshot extension: for 8 kHz encodings (G.711), the gain in dB (−60..0) of the 4–8 kHz mirror
   * image added after upsampling (docs/telephony.md, "8 kHz audio"), or "off". Default: the
   * server's. Ignored for 16 kHz encodings.
   */
  band_extension_db: z
    .union([
      z
        .number()
        .min(MIN_BAND_EXTENSION_DB, `must be at least ${MIN_BAND_EXTENSION_DB} dB`)
        .max(MAX_BAND_EXTENSION_DB, `must be at most ${MAX_BAND_EXTENSION_DB} dB`),
      z.literal("off"),
    ])
    .optional(),
  /** earshot extension: every audio message after the first repeats this much of the previous one. */
  chunk_overlap_ms: z.number().int().min(0).max(10_000).optional(),
  /**
   * earshot extension: channels in the audio, interleaved frame by frame (pcm_s16le sample by
   * sample, G.711 byte by byte; not opus). With 2, each channel is transcribed on its own and every
   * transcript, utterance_end and checkpoint carries its `channel`. Default 1.
   */
  channels: z.union([z.literal(1), z.literal(2)]).optional(),
  /** earshot extension: whether to send partial (is_final=false) transcripts. */
  interim_results: z.boolean().optional(),
  /**
   * earshot extension (resume): the stream position, in samples, of the first sample sent on this
   * connection. A client whose server session is gone starts a new one here (the end of its last
   * final) so times stay stream-absolute. Default 0.
   */
  start_sample: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** earshot extension (resume): the segment_id of this session's first segment. Default 0. */
  first_segment_id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /**
   * earshot extension (resume), two-channel streams: each channel's own start, at or after
   * `start_sample` (where the audio sent starts); a channel skips the frames before its start. A
   * client whose two-channel session is gone starts each channel at the end of its own last final.
   */
  start_samples: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).length(2).optional(),
  /** earshot extension (resume), two-channel streams: each channel's first segment_id. */
  first_segment_ids: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).length(2).optional(),
  /**
   * earshot extension (resume): send `checkpoint` messages, so that a session lost with its server
   * can be continued exactly (`resume_state`). Default false.
   */
  checkpoints: z.boolean().optional(),
  /**
   * earshot extension (resume): the `state` of a `checkpoint` message of a lost session; this
   * session continues it (`start_sample` must be the checkpoint's `sample`). Its contents are
   * checked by the engine: a state it cannot continue from is refused with `invalid_resume_state`.
   */
  resume_state: z
    .string()
    .min(1)
    .max(MAX_RESUME_STATE_CHARS, `must be at most ${MAX_RESUME_STATE_CHARS} characters`)
    .regex(/^[A-Za-z0-9_-]+$/, "must be base64url")
    .optional(),
  /**
   * earshot extension: silence, in ms, that ends an utterance (its final then has
   * `speech_final: true`, and an `utterance_end` follows). Default: the engine's own.
   */
  endpointing_ms: z
    .number()
    .int("must be a whole number of milliseconds")
    .min(MIN_ENDPOINTING_MS, `must be at least ${MIN_ENDPOINTING_MS} ms`)
    .max(MAX_ENDPOINTING_MS, `must be at most ${MAX_ENDPOINTING_MS} ms`)
    .optional(),
  /**
   * earshot extension (after Deepgram's `keyterm`): words and phrases to favour, such as product
   * names. Engines, models or decoding methods that cannot honour them refuse the config with
   * `keyterms_unsupported`.
   */
  keyterms: z
    .array(
      z
        .string()
        .trim()
        .min(1, "must not be empty")
        .max(MAX_KEYTERM_CHARS, `must be at most ${MAX_KEYTERM_CHARS} characters`)
        .regex(/^[^\p{Cc}]+$/u, "must not contain control characters"),
    )
    .max(MAX_KEYTERMS, `at most ${MAX_KEYTERMS} key terms`)
    .optional(),
  /**
   * earshot extension (after Deepgram's `numerals`): spoken numbers become digits ("four one one
   * one" → "4111", "twenty five dollars" → "$25"), a number's words merged into one word that spans
   * them. Default false.
   */
  numerals: z.boolean().optional(),
  /**
   * earshot extension (after Deepgram's `redact`): numbers to hide, `pci` (card numbers with their
   * CVV and expiry), `ssn`, `numbers` (any of 3 or more digits). The server refuses other names
   * with `unsupported_redaction`. Default: none.
   */
  redact: z.array(z.string().max(32)).max(MAX_REDACT_ENTRIES, `at most ${MAX_REDACT_ENTRIES} entries`).optional(),
});
export type StreamConfig = z.infer<typeof StreamConfigSchema>;

export const ConfigMessageSchema = z.object({ type: z.literal("config"), config: StreamConfigSchema });
export const AudioChunkMessageSchema = z.object({ type: z.literal("audio_chunk"), audio: z.string() });
export const FinalizeMessageSchema = z.object({ type: z.literal("finalize") });
export const CloseStreamMessageSchema = z.object({ type: z.literal("close_stream") });
export const KeepaliveMessageSchema = z.object({ type: z.literal("keepalive") });
/** Instead of `config`, as the first message: continue a session after a dropped connection. */
export const ResumeMessageSchema = z.object({
  type: z.literal("resume"),
  resume_token: z.string().min(16).max(128),
  /** The highest final segment_id the client has received; -1 for none. One-channel sessions. */
  last_segment_id: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Per channel, the highest final segment_id the client has received (-1 for none). Two-channel sessions. */
  last_segment_ids: z.array(z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER)).min(1).max(2).optional(),
  /**
   * Where the client's last final ended (stream position, samples; 0 before any): a node that does
   * not hold the session but finds it in the cluster continues it from there when it has no better
   * point. One-channel sessions; optional.
   */
  last_final_end_sample: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type ResumeMessage = z.infer<typeof ResumeMessageSchema>;

export const ClientMessageSchema = z.discriminatedUnion("type", [
  ConfigMessageSchema,
  AudioChunkMessageSchema,
  FinalizeMessageSchema,
  CloseStreamMessageSchema,
  KeepaliveMessageSchema,
  ResumeMessageSchema,
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type ClientMessageType = ClientMessage["type"];

const CLIENT_SCHEMAS: Record<ClientMessageType, z.ZodObject> = {
  config: ConfigMessageSchema,
  audio_chunk: AudioChunkMessageSchema,
  finalize: FinalizeMessageSchema,
  close_stream: CloseStreamMessageSchema,
  keepalive: KeepaliveMessageSchema,
  resume: ResumeMessageSchema,
};

export function isClientMessageType(type: unknown): type is ClientMessageType {
  return typeof type === "string" && Object.hasOwn(CLIENT_SCHEMAS, type);
}

/** Field paths in `raw` that the schema for its `type` does not define (top level and `config`). */
export function unknownFields(raw: Record<string, unknown>): string[] {
  const type = raw.type;
  if (!isClientMessageType(type)) return [];
  const unknown = Object.keys(raw).filter((key) => !(key in CLIENT_SCHEMAS[type].shape));
  const config = raw.config;
  if (type === "config" && typeof config === "object" && config !== null) {
    for (const key of Object.keys(config)) {
      if (!(key in StreamConfigSchema.shape)) unknown.push(`config.${key}`);
    }
  }
  return unknown;
}

export interface Word {
  word: string;
  start_ms: number;
  end_ms: number;
  confidence: number;
}

export interface TranscriptMessage {
  type: "transcript";
  is_final: boolean;
  /**
   * Finals only (absent on partials): true when the utterance ended at a pause (an `utterance_end`
   * follows), false when it was cut by `finalize`, `close_stream` or a shutdown.
   */
  speech_final?: boolean;
  text: string;
  segment_id: number;
  start_ms: number;
  end_ms: number;
  language: string;
  words?: Word[];
  /** Two-channel streams only (`config.channels: 2`): the 0-based channel it transcribes. */
  channel?: number;
}

export interface SessionStartedMessage {
  type: "session_started";
  protocol_version: number;
  session_id: string;
  config: Required<Pick<StreamConfig, "model" | "language" | "encoding" | "sample_rate">> & {
    chunk_overlap_ms: number | "auto";
    start_sample: number;
    first_segment_id: number;
    /** For 8 kHz encodings only: the band extension in force (dB, or "off"). */
    band_extension_db?: number | "off";
    /** Whether spoken numbers become digits; what is redacted (so a client can check it is on). */
    numerals: boolean;
    redact: string[];
    /** Channels in the audio: 1, or 2 for a two-channel stream (absent from servers before it). */
    channels?: 1 | 2;
    /** Two-channel streams: each channel's start and first segment_id. */
    start_samples?: number[];
    first_segment_ids?: number[];
  };
  /** Secret that lets a new connection take over this session (`resume`) after a drop. */
  resume_token: string;
  /** How long the session waits for a resume after its connection drops. */
  resume_grace_ms: number;
}

/** Answer to `resume`: send audio from `received_samples` on. Missed finals follow. */
export interface SessionResumedMessage {
  type: "session_resumed";
  session_id: string;
  received_samples: number;
  /**
   * Informational: true when another node of a cluster continued the session (its node was gone or
   * draining); `received_samples` is then where the new decoder starts. Absent otherwise.
   */
  moved?: true;
}

/**
 * The server has every sample before `received_samples` (a stream position). Sent as audio arrives
 * (at least every 250 ms of audio) and every second when idle, so it doubles as a heartbeat.
 */
export interface AckMessage {
  type: "ack";
  received_samples: number;
}

export interface ErrorMessage {
  type: "error";
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

export interface WarningMessage {
  type: "warning";
  code: WarningCode;
  message: string;
}

/**
 * The speaker paused after the final `segment_id` (after Deepgram's UtteranceEnd): speech ended at
 * `last_word_end_ms`. Informational: it follows that final at once and is not re-sent on resume.
 */
export interface UtteranceEndMessage {
  type: "utterance_end";
  last_word_end_ms: number;
  segment_id: number;
  /** Two-channel streams only: the channel whose speaker paused. */
  channel?: number;
}

/**
 * Where the stream can be continued exactly, should the server lose the session (a restart): a new
 * session with `start_sample: sample`, `first_segment_id: last_segment_id + 1` and
 * `resume_state: state`, sent the audio from `sample` on, gives the finals this one gives after
 * `last_segment_id`. Sent after the final it follows (and its `utterance_end`), to clients that
 * asked (`config.checkpoints`), by engines that can; re-sent after a `session_resumed`.
 */
export interface CheckpointMessage {
  type: "checkpoint";
  sample: number;
  /** Opaque to the client: base64url of the engine's state. */
  state: string;
  /** The last final before this point; -1 for none. */
  last_segment_id: number;
  /** Two-channel streams only: the channel this checkpoint continues. */
  channel?: number;
}

/** Sent after `close_stream`, once every final has been sent, just before close 1000. */
export interface StreamClosedMessage {
  type: "stream_closed";
  audio_ms: number;
}

export type ServerMessage =
  | TranscriptMessage
  | SessionStartedMessage
  | SessionResumedMessage
  | AckMessage
  | ErrorMessage
  | WarningMessage
  | UtteranceEndMessage
  | CheckpointMessage
  | StreamClosedMessage;
