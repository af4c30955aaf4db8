/**
 * Turns a client's `config` into what the engine will run, or the error code that refuses it.
 */
import type { Engine, StreamOptions } from "@earshot/engines";
import {
  ENCODING_SAMPLE_RATES,
  ENCODINGS,
  type Encoding,
  type ErrorCode,
  type SessionStartedMessage,
  type StreamConfig,
} from "@earshot/protocol";
import { engineErrorCode } from "./engine-error-code.js";
import { isRedactKind, REDACT_KINDS, type RedactKind } from "./transcript-text/redaction.js";
import type { TextOptions } from "./transcript-text/transcript-text.js";

/** What a stream gets when its config does not say. */
export interface StreamDefaults {
  /**
   * Gain in dB of the band extension for 8 kHz encodings (G.711): the 0–4 kHz band mirrored into
   * the empty 4–8 kHz band after upsampling (docs/telephony.md, "8 kHz audio"); "off": none.
   */
  readonly bandExtensionDb: number | "off";
}

/**
 * 0 dB: of the variants and gains measured with PocketSphinx, the lowest WER on the eval set's
 * telephone copy and on other speech (docs/benchmarks.md, "8 kHz band extension: variants").
 */
export const DEFAULT_BAND_EXTENSION_DB = 0;
export const DEFAULT_STREAM_DEFAULTS: StreamDefaults = { bandExtensionDb: DEFAULT_BAND_EXTENSION_DB };

/** Model names seed clients send that mean "the engine's default model". */
export const DEFAULT_MODEL_ALIASES = ["default", "whisper-stream-1", "whisper-1"] as const;

export interface ResolvedConfig {
  readonly engine: StreamOptions;
  readonly encoding: Encoding;
  /** The wire's sample rate (8000 for G.711); the engine always gets 16 kHz. */
  readonly sampleRate: number;
  /** Band extension's image gain for an 8 kHz encoding; undefined when off or for 16 kHz encodings. */
  readonly bandExtensionDb: number | undefined;
  /** Channels interleaved in the audio: 2 runs one engine stream per channel (`channels/`). */
  readonly channels: 1 | 2;
  /** undefined: detect the overlap of seed hex chunks (pcm_s16le only; other encodings have none). */
  readonly overlapMs: number | undefined;
  readonly interimResults: boolean;
  readonly startSample: number;
  readonly firstSegmentId: number;
  /** Send `checkpoint` messages. */
  readonly checkpoints: boolean;
  /** `numerals` and `redact`. */
  readonly text: TextOptions;
}

export type ConfigResult = { ok: true; config: ResolvedConfig } | { ok: false; code: ErrorCode; message: string };

/**
 * What a surface knows of the audio that its wire config cannot say: `telephone`, 8 kHz audio it
 * upsampled and band-extended itself before sending it on as 16 kHz PCM (Deepgram's 8 kHz
 * `linear16`), which the engine then decodes as the server's own 8 kHz encodings.
 */
export interface AudioSource {
  readonly telephone?: boolean;
}

export function resolveConfig(
  config: StreamConfig,
  engine: Engine,
  defaults: StreamDefaults = DEFAULT_STREAM_DEFAULTS,
  source: AudioSource = {},
): ConfigResult {
  // Read once: a router computes its capabilities from its engines on every read.
  const capabilities = engine.capabilities;
  const { languages, models, modelLanguages } = capabilities;
  const languagesOf = (model: string): readonly string[] => modelLanguages?.[model] ?? languages;
  const requested = config.model ?? "default";
  const isDefault = (DEFAULT_MODEL_ALIASES as readonly string[]).includes(requested);
  if (!isDefault && !models.includes(requested)) {
    return {
      ok: false,
      code: "unsupported_model",
      message: `Model "${requested}" is not served here; available: ${[...models, ...DEFAULT_MODEL_ALIASES].join(", ")}.`,
    };
  }
  const unavailable = isDefault ? undefined : capabilities.unavailableModels?.get(requested);
  if (unavailable) {
    return {
      ok: false,
      code: engineErrorCode(unavailable),
      message: `Model "${requested}" cannot be served: ${unavailable.message}`,
    };
  }
  // Without a language, an explicitly named model speaks its own first language.
  const language = (config.language ?? (isDefault ? "en" : (languagesOf(requested)[0] ?? "en"))).toLowerCase();
  const primary = language.split(/[-_]/)[0] ?? language;
  const model = isDefault
    ? (models.find((m) => languagesOf(m).includes(primary)) ?? models[0] ?? engine.name)
    : requested;
  if (!languagesOf(model).includes(primary)) {
    const served = isDefault ? languages : languagesOf(model);
    return {
      ok: false,
      code: "unsupported_language",
      message: isDefault
        ? `Language "${config.language}" is not supported by the ${engine.name} engine; supported: ${served.join(", ")}.`
        : `Language "${config.language}" is not served by model "${model}"; it serves: ${served.join(", ")}.`,
    };
  }
  const keyterms = config.keyterms ?? [];
  if (keyterms.length > 0 && !(capabilities.keytermModels ?? []).includes(model)) {
    return {
      ok: false,
      code: "keyterms_unsupported",
      message: `Model "${model}" of the ${engine.name} engine cannot honour keyterms; send the config without them.`,
    };
  }
  const encoding = config.encoding ?? "pcm_s16le";
  if (!isEncoding(encoding)) {
    return {
      ok: false,
      code: "unsupported_encoding",
      message: `Encoding "${encoding}" is not supported; supported: ${ENCODINGS.join(", ")}.`,
    };
  }
  const expectedRate = ENCODING_SAMPLE_RATES[encoding];
  const sampleRate = config.sample_rate ?? expectedRate;
  if (sampleRate !== expectedRate) {
    return {
      ok: false,
      code: "unsupported_encoding",
      message: `Sample rate ${sampleRate} does not match ${encoding}: send ${expectedRate} Hz mono (or leave sample_rate out).`,
    };
  }
  // Overlap is a repeat of samples; G.711 is resampled and Opus packets are not sample-addressable.
  if (encoding !== "pcm_s16le" && (config.chunk_overlap_ms ?? 0) !== 0) {
    return {
      ok: false,
      code: "unsupported_encoding",
      message: `chunk_overlap_ms must be 0 with ${encoding}: send each sample once.`,
    };
  }
  const channels = config.channels ?? 1;
  const refusedChannels = channels === 2 ? twoChannelRefusal(config, encoding) : undefined;
  if (refusedChannels) return refusedChannels;
  if (channels === 1 && (config.start_samples !== undefined || config.first_segment_ids !== undefined)) {
    return {
      ok: false,
      code: "invalid_message",
      message: "config: start_samples and first_segment_ids are for two-channel streams (channels: 2).",
    };
  }
  const bandExtension = config.band_extension_db ?? defaults.bandExtensionDb;
  const redact = config.redact ?? [];
  const unknownKinds = redact.filter((kind) => !isRedactKind(kind));
  if (unknownKinds.length > 0) {
    return {
      ok: false,
      code: "unsupported_redaction",
      message: `Cannot redact ${unknownKinds.map((k) => JSON.stringify(k)).join(", ")}; redact takes: ${REDACT_KINDS.join(", ")}.`,
    };
  }
  const startSample = config.start_sample ?? 0;
  let resumeFrom: StreamOptions["resumeFrom"];
  if (config.resume_state !== undefined) {
    const state = decodeResumeState(config.resume_state);
    if (state === undefined) {
      return { ok: false, code: "invalid_resume_state", message: "resume_state is not base64url of a JSON object." };
    }
    resumeFrom = { atSample: startSample, state };
  }
  return {
    ok: true,
    config: {
      engine: {
        language: primary,
        model,
        // An engine without word timings gives transcripts without `words`, rather than a refusal.
        wordTimestamps: (config.timestamp_granularity ?? "word") === "word" && capabilities.wordTimestamps,
        ...(config.endpointing_ms === undefined ? {} : { endpointingMs: config.endpointing_ms }),
        ...(keyterms.length > 0 ? { keyterms } : {}),
        ...(resumeFrom ? { resumeFrom } : {}),
        // Band-extended G.711: an engine with a model adapted to it uses it (docs/telephony.md). Not
        // without the extension: PocketSphinx's telephone model was made for extended audio, and on
        // audio without the image it is worse than the plain model (80.0% WER against 71.5%).
        ...((sampleRate === 8000 && bandExtension !== "off") || source.telephone ? { telephone: true } : {}),
      },
      encoding,
      sampleRate,
      bandExtensionDb: sampleRate === 8000 && bandExtension !== "off" ? bandExtension : undefined,
      channels,
      // Two channels: no overlap to detect (twoChannelRefusal), so a message's frames are its bytes.
      overlapMs: encoding === "pcm_s16le" && channels === 1 ? config.chunk_overlap_ms : 0,
      interimResults: config.interim_results ?? true,
      startSample,
      firstSegmentId: config.first_segment_id ?? 0,
      checkpoints: config.checkpoints ?? false,
      text: { numerals: config.numerals ?? false, redact: [...new Set(redact as RedactKind[])] },
    },
  };
}

/**
 * What a two-channel stream cannot do: Opus (a packet carries one channel), overlapping messages
 * (frames are split before decoding, so a message must hold whole new frames) and `resume_state`
 * (a checkpoint continues one channel's engine stream; a two-channel stream would need one each).
 */
function twoChannelRefusal(config: StreamConfig, encoding: Encoding): ConfigResult | undefined {
  if (encoding === "opus") {
    return {
      ok: false,
      code: "unsupported_encoding",
      message:
        "channels: 2 takes pcm_s16le, mulaw or alaw: an Opus packet carries one channel (open a stream per channel).",
    };
  }
  if ((config.chunk_overlap_ms ?? 0) !== 0) {
    return { ok: false, code: "unsupported_encoding", message: "chunk_overlap_ms must be 0 with channels: 2." };
  }
  if (config.resume_state !== undefined) {
    return {
      ok: false,
      code: "invalid_resume_state",
      message: "resume_state continues one channel's stream; a two-channel stream cannot start from a checkpoint.",
    };
  }
  return undefined;
}

/** A checkpoint's state as sent in `checkpoint` messages: base64url of its JSON. */
export function encodeResumeState(state: unknown): string {
  return Buffer.from(JSON.stringify(state)).toString("base64url");
}

/** `resume_state` back to the engine's state (an object), or undefined if it is not one. */
function decodeResumeState(text: string): object | undefined {
  try {
    const state: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    return typeof state === "object" && state !== null && !Array.isArray(state) ? state : undefined;
  } catch {
    return undefined;
  }
}

function isEncoding(name: string): name is Encoding {
  return (ENCODINGS as readonly string[]).includes(name);
}

/** The config as the server runs it, echoed to the client in `session_started`. */
export function announcedConfig(config: ResolvedConfig): SessionStartedMessage["config"] {
  return {
    model: config.engine.model,
    language: config.engine.language,
    encoding: config.encoding,
    sample_rate: config.sampleRate,
    chunk_overlap_ms: config.overlapMs ?? "auto",
    start_sample: config.startSample,
    first_segment_id: config.firstSegmentId,
    ...(config.sampleRate === 8000 ? { band_extension_db: config.bandExtensionDb ?? "off" } : {}),
    numerals: config.text.numerals,
    redact: [...config.text.redact],
    channels: config.channels,
  };
}
