/**
 * Deepgram's `/v1/listen` query string, read into what earshot runs: the audio on the wire
 * (`encoding`, `sample_rate`, `channels`, `multichannel`), the stream config each channel's session
 * gets (model, language, endpointing, keyterms, numerals, redaction), and what the adapter adds
 * (interim results, `SpeechStarted`, `UtteranceEnd`). Values Deepgram would refuse are refused with
 * a 400; parameters earshot cannot act on are accepted and named in `ignored`.
 */
import { MAX_ENDPOINTING_MS, MIN_ENDPOINTING_MS, type StreamConfig, StreamConfigSchema } from "@earshot/protocol";
import { DeepgramUpgradeError } from "./listen-errors.js";

export const DEEPGRAM_ENCODINGS = ["linear16", "mulaw", "alaw", "opus"] as const;
export type DeepgramEncoding = (typeof DEEPGRAM_ENCODINGS)[number];

/** Deepgram's other encodings: named in the refusal, so a client knows it is the encoding. */
const OTHER_DEEPGRAM_ENCODINGS = ["linear32", "flac", "amr-nb", "amr-wb", "ogg-opus", "speex", "g729"];
/** Rates Opus decodes to; linear16 takes any rate in this range (resampled to 16 kHz). */
const OPUS_SAMPLE_RATES = [8000, 12_000, 16_000, 24_000, 48_000];
const MIN_LINEAR16_RATE = 8000;
const MAX_LINEAR16_RATE = 48_000;
export const MAX_CHANNELS = 8;
const MAX_MODEL_CHARS = 128;
/** Deepgram's keyterm prompting takes up to this many terms. */
const MAX_KEYTERMS = 100;

/**
 * Deepgram `redact` values and earshot's redaction kinds they mean (Deepgram's redaction docs:
 * `numbers`, "or `true`", is any sequence of three or more numerals, as earshot's `numbers`).
 */
const REDACT_VALUES: Readonly<Record<string, readonly string[]>> = {
  true: ["numbers"],
  false: [],
  pci: ["pci"],
  ssn: ["ssn"],
  numbers: ["numbers"],
};

/** The query parameter behind a stream config field, for a refusal's message. */
const PARAMETER_OF_FIELD: Readonly<Record<string, string>> = { keyterms: "keyterm", endpointing_ms: "endpointing" };

/** Parameters read here; any other is accepted and ignored (Deepgram features earshot lacks). */
const READ = new Set([
  "model",
  "language",
  "encoding",
  "sample_rate",
  "channels",
  "multichannel",
  "interim_results",
  "endpointing",
  "utterance_end_ms",
  "vad_events",
  "smart_format",
  "numerals",
  "redact",
  "keyterm",
]);

export interface ListenQuery {
  /** The model as asked, for `Results.metadata` (the engine's default when not served here). */
  readonly model: string;
  readonly encoding: DeepgramEncoding;
  readonly sampleRate: number;
  readonly channels: number;
  /** One session per channel, each with its own `channel_index`; otherwise mixed down to mono. */
  readonly multichannel: boolean;
  readonly interimResults: boolean;
  /** `endpointing=false`: `speech_final` is never true. */
  readonly endpointing: boolean;
  /** Send `UtteranceEnd` (after a final that ended at a pause). */
  readonly utteranceEnd: boolean;
  /** Send `SpeechStarted`. */
  readonly vadEvents: boolean;
  /** Each channel's session config, without the wire encoding (the adapter sets it). */
  readonly config: StreamConfig;
  /** Parameters sent that earshot takes and does not act on (`punctuate`, `diarize`…), in the order sent. */
  readonly ignored: readonly string[];
}

/**
 * Reads the query, or throws a `DeepgramUpgradeError` (400). `servedModels` are the engine's own
 * model names: one of them is used as asked; any other name (`nova-3`, `general`…) means the
 * engine's default model.
 */
export function parseListenQuery(params: URLSearchParams, servedModels: readonly string[]): ListenQuery {
  const one = (name: string): string | undefined => {
    const values = params.getAll(name);
    if (values.length > 1) throw invalid(`${name} was given ${values.length} times; give it once.`);
    return values[0];
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const value = one(name);
    if (value === undefined) return fallback;
    if (value === "true") return true;
    if (value === "false") return false;
    throw invalid(`${name} must be true or false, not ${quote(value)}.`);
  };
  const model = one("model") ?? "default";
  // Echoed in every Results: a name, not a payload.
  if (model.length > MAX_MODEL_CHARS || /\p{Cc}/u.test(model)) {
    throw invalid(`model must be a name of at most ${MAX_MODEL_CHARS} characters.`);
  }
  const encoding = readEncoding(one("encoding"));
  const sampleRate = readSampleRate(encoding, one("sample_rate"));
  const channels = readInteger("channels", one("channels"), 1, MAX_CHANNELS) ?? 1;
  if (encoding === "opus" && channels !== 1) {
    throw new DeepgramUpgradeError("unsupported_encoding", "opus is supported with channels=1 only.");
  }
  const multichannel = flag("multichannel", false);
  const endpointingValue = one("endpointing");
  const endpointing = endpointingValue !== "false";
  const endpointingMs =
    endpointingValue === undefined || endpointingValue === "false" || endpointingValue === "true"
      ? undefined
      : clamp(readInteger("endpointing", endpointingValue, 0, 60_000) ?? 0, MIN_ENDPOINTING_MS, MAX_ENDPOINTING_MS);
  const utteranceEnd = readInteger("utterance_end_ms", one("utterance_end_ms"), 0, 60_000) !== undefined;
  const keyterms = params.getAll("keyterm");
  if (keyterms.length > MAX_KEYTERMS) throw invalid(`At most ${MAX_KEYTERMS} keyterm values.`);
  const numerals = flag("numerals", false) || flag("smart_format", false);
  const redact = readRedact(params.getAll("redact"));
  const interimResults = flag("interim_results", false);
  const vadEvents = flag("vad_events", false);
  const language = one("language");
  const ignored = [...new Set(params.keys())].filter((name) => !READ.has(name));
  const config = StreamConfigSchema.safeParse({
    model: servedModels.includes(model) ? model : "default",
    ...(language === undefined ? {} : { language }),
    // Partials show where speech starts, for SpeechStarted, even when the client wants none.
    interim_results: interimResults || vadEvents,
    ...(endpointingMs === undefined ? {} : { endpointing_ms: endpointingMs }),
    ...(keyterms.length > 0 ? { keyterms } : {}),
    numerals,
    ...(redact.length > 0 ? { redact } : {}),
  });
  if (!config.success) {
    const issue = config.error.issues[0];
    const name = PARAMETER_OF_FIELD[String(issue?.path[0])] ?? String(issue?.path[0]);
    throw invalid(`${name}: ${issue?.message ?? "invalid"}.`);
  }
  return {
    model,
    encoding,
    sampleRate,
    channels,
    multichannel,
    interimResults,
    endpointing,
    utteranceEnd,
    vadEvents,
    config: config.data,
    ignored,
  };
}

function readEncoding(value: string | undefined): DeepgramEncoding {
  if (value === undefined) {
    throw new DeepgramUpgradeError(
      "unsupported_encoding",
      `encoding is required: this server reads raw audio only (${DEEPGRAM_ENCODINGS.join(", ")}), not containers.`,
    );
  }
  if ((DEEPGRAM_ENCODINGS as readonly string[]).includes(value)) return value as DeepgramEncoding;
  const known = OTHER_DEEPGRAM_ENCODINGS.includes(value) ? " is not supported by this server" : " is not an encoding";
  throw new DeepgramUpgradeError(
    "unsupported_encoding",
    `encoding ${quote(value)}${known}; supported: ${DEEPGRAM_ENCODINGS.join(", ")}.`,
  );
}

function readSampleRate(encoding: DeepgramEncoding, value: string | undefined): number {
  if (encoding === "mulaw" || encoding === "alaw") {
    const rate = readInteger("sample_rate", value, 1, 384_000) ?? 8000;
    if (rate !== 8000)
      throw new DeepgramUpgradeError("unsupported_encoding", `${encoding} is supported at 8000 Hz only.`);
    return rate;
  }
  if (encoding === "opus") {
    const rate = readInteger("sample_rate", value, 1, 384_000) ?? 48_000;
    if (!OPUS_SAMPLE_RATES.includes(rate)) {
      throw new DeepgramUpgradeError("unsupported_encoding", `opus takes sample_rate ${OPUS_SAMPLE_RATES.join(", ")}.`);
    }
    return rate;
  }
  const rate = readInteger("sample_rate", value, 1, 384_000);
  if (rate === undefined) throw invalid("sample_rate is required with encoding=linear16.");
  if (rate < MIN_LINEAR16_RATE || rate > MAX_LINEAR16_RATE) {
    throw new DeepgramUpgradeError(
      "unsupported_encoding",
      `linear16 is supported from ${MIN_LINEAR16_RATE} to ${MAX_LINEAR16_RATE} Hz, not ${rate}.`,
    );
  }
  return rate;
}

function readRedact(values: readonly string[]): string[] {
  const kinds = new Set<string>();
  for (const value of values) {
    const mapped = REDACT_VALUES[value];
    if (mapped === undefined) {
      throw new DeepgramUpgradeError(
        "unsupported_redaction",
        `redact=${quote(value)} is not supported; this server redacts: ${Object.keys(REDACT_VALUES).join(", ")}.`,
      );
    }
    for (const kind of mapped) kinds.add(kind);
  }
  return [...kinds];
}

function readInteger(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw invalid(`${name} must be a whole number, not ${quote(value)}.`);
  const number = Number(value);
  if (number < min || number > max) throw invalid(`${name} must be from ${min} to ${max}, not ${number}.`);
  return number;
}

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

function invalid(message: string): DeepgramUpgradeError {
  return new DeepgramUpgradeError("bad_request", message);
}

/** A client's value in a message: quoted, cut short, control characters escaped by JSON. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
