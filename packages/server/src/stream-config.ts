/**
 * Turns a client's `config` into what the engine will run, or the error code that refuses it.
 */
import type { Engine, StreamOptions } from "@earshot/engines";
import { ENCODINGS, type Encoding, type ErrorCode, SAMPLE_RATE, type StreamConfig } from "@earshot/protocol";

/** Model names seed clients send that mean "the engine's default model". */
export const DEFAULT_MODEL_ALIASES = ["default", "whisper-stream-1", "whisper-1"] as const;

export interface ResolvedConfig {
  readonly engine: StreamOptions;
  readonly encoding: Encoding;
  readonly sampleRate: number;
  /** undefined: detect the overlap of seed hex chunks. */
  readonly overlapMs: number | undefined;
  readonly interimResults: boolean;
  readonly startSample: number;
  readonly firstSegmentId: number;
}

export type ConfigResult = { ok: true; config: ResolvedConfig } | { ok: false; code: ErrorCode; message: string };

export function resolveConfig(config: StreamConfig, engine: Engine): ConfigResult {
  const { languages, models } = engine.capabilities;
  const language = (config.language ?? "en").toLowerCase();
  const primary = language.split(/[-_]/)[0] ?? language;
  if (!languages.includes(primary)) {
    return {
      ok: false,
      code: "unsupported_language",
      message: `Language "${config.language}" is not supported by the ${engine.name} engine; supported: ${languages.join(", ")}.`,
    };
  }
  const requested = config.model ?? "default";
  const defaultModel = models[0] ?? engine.name;
  const model = (DEFAULT_MODEL_ALIASES as readonly string[]).includes(requested) ? defaultModel : requested;
  if (!models.includes(model)) {
    return {
      ok: false,
      code: "unsupported_model",
      message: `Model "${requested}" is not served here; available: ${[...models, ...DEFAULT_MODEL_ALIASES].join(", ")}.`,
    };
  }
  const encoding = config.encoding ?? "pcm_s16le";
  if (!(ENCODINGS as readonly string[]).includes(encoding)) {
    return {
      ok: false,
      code: "unsupported_encoding",
      message: `Encoding "${encoding}" is not supported; supported: ${ENCODINGS.join(", ")}.`,
    };
  }
  const sampleRate = config.sample_rate ?? SAMPLE_RATE;
  if (sampleRate !== SAMPLE_RATE) {
    return {
      ok: false,
      code: "unsupported_encoding",
      message: `Sample rate ${sampleRate} is not supported for ${encoding}; send ${SAMPLE_RATE} Hz mono.`,
    };
  }
  return {
    ok: true,
    config: {
      engine: {
        language: primary,
        model,
        wordTimestamps: (config.timestamp_granularity ?? "word") === "word",
        ...(config.endpointing_ms === undefined ? {} : { endpointingMs: config.endpointing_ms }),
      },
      encoding: encoding as Encoding,
      sampleRate,
      overlapMs: config.chunk_overlap_ms,
      interimResults: config.interim_results ?? true,
      startSample: config.start_sample ?? 0,
      firstSegmentId: config.first_segment_id ?? 0,
    },
  };
}
