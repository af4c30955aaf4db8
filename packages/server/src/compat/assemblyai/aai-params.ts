/**
 * The query parameters of `/v3/ws`, read into an earshot stream config. Three kinds
 * (docs/compatibility.md, "AssemblyAI: streaming v3"):
 * - mapped: `sample_rate`, `encoding`, `format_turns`, `max_turn_silence` (earshot's
 *   `endpointing_ms`: earshot ends a turn on silence alone), `keyterms_prompt` (earshot's
 *   `keyterms`), `language_code` (earshot's `language`);
 * - accepted and ignored (`IGNORED`): tuning of AssemblyAI's own end-of-turn model and features
 *   earshot has no counterpart for, whose absence the client can see or does not depend on;
 * - refused (3006): values AssemblyAI refuses too (a bad `sample_rate`, an unknown `encoding`), and
 *   features whose silent absence would send the client what it asked not to get (`redact_pii`,
 *   `filter_profanity`) or wait for what never comes (`webhook_url`, `llm_gateway`).
 * Unknown parameters are ignored, as AssemblyAI ignores them; both are named in `ignored`.
 */
import {
  MAX_ENDPOINTING_MS,
  MAX_KEYTERMS,
  MIN_ENDPOINTING_MS,
  type StreamConfig,
  StreamConfigSchema,
} from "@earshot/protocol";

/** The wire encodings of AssemblyAI's binary audio frames. */
export type AaiEncoding = "pcm_s16le" | "pcm_mulaw";

/** Sample rates this server resamples from (AssemblyAI's own examples run from 8 kHz to 48 kHz). */
export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 48_000;
/** The default `sample_rate`, as AssemblyAI documents it. */
const DEFAULT_SAMPLE_RATE = 16_000;

/** Parameters taken and not acted on: AssemblyAI's turn model tuning, and features earshot lacks. */
export const IGNORED = [
  "speech_model",
  "end_of_turn_confidence_threshold",
  "min_end_of_turn_silence_when_confident",
  "min_turn_silence",
  "vad_threshold",
  "inactivity_timeout",
  "session_heartbeat",
  "acknowledge_silence",
  "language_detection",
  "language_codes",
  "prompt",
  "agent_context",
  "domain",
  "mode",
  "speaker_labels",
  "max_speakers",
  "include_partial_turns",
] as const;

/** Parameters refused whenever they ask for something (their value is anything but false/empty). */
export const REFUSED = [
  "redact_pii",
  "redact_pii_policies",
  "redact_pii_sub",
  "filter_profanity",
  "webhook_url",
  "llm_gateway",
] as const;

/** Read here, not passed on: the credential and the parameters mapped above. */
const MAPPED = new Set([
  "token",
  "sample_rate",
  "encoding",
  "format_turns",
  "max_turn_silence",
  "keyterms_prompt",
  "language_code",
]);

export interface AaiStreamParams {
  /** What the audio frames hold. */
  readonly encoding: AaiEncoding;
  readonly sampleRate: number;
  /** Send a formatted copy of each ended turn (`turn_is_formatted: true`). */
  readonly formatTurns: boolean;
  /** The session's config, but for the audio format (`AaiAudioInput` decides it). */
  readonly config: StreamConfig;
  /** Parameters given that the server took without acting on them (IGNORED ones and unknown ones). */
  readonly ignored: readonly string[];
}

export type ParamsCheck =
  | { readonly ok: true; readonly params: AaiStreamParams }
  | { readonly ok: false; readonly why: string };

const refuse = (why: string): ParamsCheck => ({ ok: false, why });

export function readAaiParams(query: URLSearchParams): ParamsCheck {
  for (const name of REFUSED) {
    const value = query.get(name);
    if (value !== null && value !== "" && value !== "false") {
      return refuse(`${name} is not supported by this server`);
    }
  }
  const sampleRate = integerParam(query, "sample_rate");
  if (sampleRate === null) return refuse("sample_rate must be a positive integer");
  const rate = sampleRate ?? DEFAULT_SAMPLE_RATE;
  if (rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) {
    return refuse(`sample_rate must be between ${MIN_SAMPLE_RATE} and ${MAX_SAMPLE_RATE}`);
  }
  const encoding = query.get("encoding") ?? "pcm_s16le";
  if (encoding !== "pcm_s16le" && encoding !== "pcm_mulaw") {
    return refuse(`encoding ${JSON.stringify(encoding.slice(0, 32))} is not supported; use pcm_s16le or pcm_mulaw`);
  }
  const formatTurns = booleanParam(query, "format_turns");
  if (formatTurns === null) return refuse("format_turns must be true or false");
  const config: StreamConfig = { timestamp_granularity: "word" };
  const silence = integerParam(query, "max_turn_silence");
  if (silence === null) return refuse("max_turn_silence must be a whole number of milliseconds");
  if (silence !== undefined) {
    if (silence < MIN_ENDPOINTING_MS || silence > MAX_ENDPOINTING_MS) {
      return refuse(`max_turn_silence must be between ${MIN_ENDPOINTING_MS} and ${MAX_ENDPOINTING_MS} ms`);
    }
    config.endpointing_ms = silence;
  }
  const keyterms = keytermsParam(query.get("keyterms_prompt"));
  if (keyterms === null) return refuse(`keyterms_prompt must be a JSON array of at most ${MAX_KEYTERMS} strings`);
  if (keyterms !== undefined && keyterms.length > 0) config.keyterms = keyterms;
  const language = query.get("language_code");
  if (language !== null) config.language = language;
  const confidence = query.get("end_of_turn_confidence_threshold");
  if (confidence !== null && !(Number(confidence) >= 0 && Number(confidence) <= 1)) {
    return refuse("end_of_turn_confidence_threshold must be between 0 and 1");
  }
  // The same checks as a client's `config` (key terms' length and characters, the language's form).
  const checked = StreamConfigSchema.safeParse(config);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const name = issue?.path[0] === "keyterms" ? "keyterms_prompt" : "language_code";
    return refuse(`${name}: ${issue?.message ?? "invalid"}`);
  }
  const ignored = [...new Set(query.keys())].filter(
    (name) => !MAPPED.has(name) && !(REFUSED as readonly string[]).includes(name),
  );
  return {
    ok: true,
    params: { encoding, sampleRate: rate, formatTurns: formatTurns ?? false, config: checked.data, ignored },
  };
}

/** undefined: absent; null: not a positive whole number. */
function integerParam(query: URLSearchParams, name: string): number | undefined | null {
  const value = query.get(name);
  if (value === null) return undefined;
  return /^\d{1,9}$/.test(value) && Number(value) > 0 ? Number(value) : null;
}

/** undefined: absent; null: neither true nor false (AssemblyAI's SDKs send `true`/`false`, Python's `True`). */
function booleanParam(query: URLSearchParams, name: string): boolean | undefined | null {
  const value = query.get(name);
  if (value === null) return undefined;
  const lower = value.toLowerCase();
  return lower === "true" ? true : lower === "false" ? false : null;
}

/** The SDK sends `keyterms_prompt` as a JSON array; undefined: absent; null: not an array of strings. */
function keytermsParam(value: string | null): string[] | undefined | null {
  if (value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length > MAX_KEYTERMS) return null;
  return parsed.every((term): term is string => typeof term === "string") ? parsed : null;
}
