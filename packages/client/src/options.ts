/**
 * Client defaults: chunking presets, the stream URL, the `config` message.
 */
import type { StreamConfig } from "@earshot/protocol";
import { encodeClientMessage } from "@earshot/protocol/client-message-encoder";
import { ENCODING_SAMPLE_RATES, type Encoding } from "@earshot/protocol/encodings";

export const STREAM_PATH = "/v1/audio/transcriptions/stream";
/** Where stream tokens are minted (`TOKEN_PATH` of @earshot/protocol, whose values the browser graph does not load). */
export const TOKEN_PATH = "/v1/auth/token";
/** How stream tokens begin (`STREAM_TOKEN_PREFIX` of @earshot/protocol, for the same reason). */
export const STREAM_TOKEN_PREFIX = "est_";

/** How audio goes on the wire: binary PCM16LE frames, or the seed's hex `audio_chunk` JSON. */
export type AudioMode = "binary" | "seed";

export interface Chunking {
  /** New audio per message, in ms. */
  readonly chunkMs: number;
  /** Audio each message after the first repeats from the one before, in ms (declared in config). */
  readonly overlapMs?: number;
}

export const CHUNKING_PRESETS = {
  /** The seed's English client: 500 ms messages, each repeating the previous 100 ms. */
  "seed-en": { chunkMs: 500, overlapMs: 100 },
  /** The seed's Chinese client: 800 ms messages, no overlap. */
  "seed-zh": { chunkMs: 800, overlapMs: 0 },
  /**
   * 20 ms messages, no overlap (like telephony media streams). A 100 ms message holds the end of
   * speech for 50 ms on average before it is sent; 20 ms frames bring finals and first partials
   * sooner for a little more server CPU (docs/engines.md, "Endpointing and frame size under load").
   */
  "low-latency": { chunkMs: 20, overlapMs: 0 },
} as const satisfies Record<string, Required<Chunking>>;

export type ChunkingPreset = keyof typeof CHUNKING_PRESETS;

/** What a caller may set in `config`; the client owns encoding, sample rate, overlap and stream position. */
export type ClientStreamConfig = Omit<
  StreamConfig,
  | "encoding"
  | "sample_rate"
  | "chunk_overlap_ms"
  | "start_sample"
  | "first_segment_id"
  | "checkpoints"
  | "resume_state"
  | "channels"
  | "start_samples"
  | "first_segment_ids"
>;

/** Where a session starts in the stream: 0/0 for the first, the end of the last final after a lost session. */
export interface SessionStart {
  readonly startSample: number;
  readonly firstSegmentId: number;
  /** A checkpoint's state: the new session continues the lost one exactly from `startSample`. */
  readonly resumeState?: string;
  /** Two channels: each channel's start (`startSample` is the earlier) and first segment id. */
  readonly channels?: { readonly startSamples: readonly number[]; readonly firstSegmentIds: readonly number[] };
}

/** The encoding, overlap and channels a stream's audio messages have (what `config` declares). */
export interface WireFormat {
  readonly encoding: Encoding;
  readonly overlapMs: number;
  /** Default 1. */
  readonly channels?: 1 | 2;
}

/**
 * Default: `low-latency` in binary mode; in seed mode `seed-zh` for Chinese, else `seed-en`. Only
 * pcm_s16le chunks may overlap: with another encoding a preset's overlap is dropped, and an explicit
 * one is an error.
 */
export function resolveChunking(
  chunking: ChunkingPreset | Chunking | undefined,
  mode: AudioMode,
  language: string,
  encoding: Encoding = "pcm_s16le",
  channels: 1 | 2 = 1,
): Required<Chunking> {
  const resolved = resolvePreset(chunking, mode, language);
  if ((encoding === "pcm_s16le" && channels === 1) || resolved.overlapMs === 0) return resolved;
  if (typeof chunking === "object") {
    throw new RangeError(`Chunks cannot overlap with ${channels === 2 ? "two channels" : `encoding ${encoding}`}.`);
  }
  return { chunkMs: resolved.chunkMs, overlapMs: 0 };
}

function resolvePreset(
  chunking: ChunkingPreset | Chunking | undefined,
  mode: AudioMode,
  language: string,
): Required<Chunking> {
  const chosen =
    chunking ?? (mode === "binary" ? "low-latency" : language.toLowerCase().startsWith("zh") ? "seed-zh" : "seed-en");
  if (typeof chosen === "string") {
    const preset = CHUNKING_PRESETS[chosen];
    if (preset === undefined) throw new RangeError(`Unknown chunking preset "${chosen}".`);
    return preset;
  }
  const overlapMs = chosen.overlapMs ?? 0;
  if (!(chosen.chunkMs >= 10 && chosen.chunkMs <= 10_000) || !(overlapMs >= 0 && overlapMs <= 10_000)) {
    throw new RangeError(`Chunking needs 10 ≤ chunkMs ≤ 10000 and 0 ≤ overlapMs ≤ 10000.`);
  }
  return { chunkMs: chosen.chunkMs, overlapMs };
}

/**
 * The stream endpoint for a base URL (`http://host:port`, `wss://host/prefix`) or the full endpoint
 * URL; http(s) becomes ws(s).
 */
export function streamUrl(url: string): string {
  const parsed = new URL(url);
  const schemes: Record<string, string> = { "http:": "ws:", "https:": "wss:", "ws:": "ws:", "wss:": "wss:" };
  const scheme = schemes[parsed.protocol];
  if (scheme === undefined) throw new RangeError(`Unsupported URL scheme ${parsed.protocol} (use http(s) or ws(s)).`);
  parsed.protocol = scheme;
  if (!parsed.pathname.endsWith(STREAM_PATH)) parsed.pathname = parsed.pathname.replace(/\/+$/, "") + STREAM_PATH;
  return parsed.toString();
}

/**
 * The URL of a connection that resumes a session: the token rides along (`resume_token`) so a
 * server at capacity, which refuses new streams at the upgrade, still lets this one in.
 */
export function resumeUrl(url: string, resumeToken: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("resume_token", resumeToken);
  return parsed.toString();
}

export function configMessage(
  config: ClientStreamConfig,
  wire: WireFormat,
  start: SessionStart = { startSample: 0, firstSegmentId: 0 },
): string {
  const full: StreamConfig = {
    language: "en",
    task: "transcribe",
    response_format: "verbose_json",
    timestamp_granularity: "word",
    ...config,
    encoding: wire.encoding,
    sample_rate: ENCODING_SAMPLE_RATES[wire.encoding],
    chunk_overlap_ms: wire.overlapMs,
    // Only when not the defaults, so a server without resume support accepts the first session.
    ...(start.startSample > 0 ? { start_sample: start.startSample } : {}),
    ...(start.firstSegmentId > 0 ? { first_segment_id: start.firstSegmentId } : {}),
    // Only when not the default, so a server without two channels says so (it does not echo it).
    ...(wire.channels === 2 ? { channels: 2 } : {}),
    // Checkpoints let a session lost with its server be continued exactly (`resume_state`); one
    // continues one channel, so a two-channel stream asks for none.
    checkpoints: wire.channels !== 2,
    ...(start.resumeState === undefined ? {} : { resume_state: start.resumeState }),
    ...(start.channels === undefined
      ? {}
      : { start_samples: [...start.channels.startSamples], first_segment_ids: [...start.channels.firstSegmentIds] }),
  };
  return encodeClientMessage({ type: "config", config: full });
}
