/**
 * The form fields of `POST /v1/audio/transcriptions`, validated: OpenAI's model names mean the
 * engine's default model, an earshot model name selects that model; `stream=true` answers with
 * server-sent events, whatever `response_format`; `prompt`, `temperature`,
 * `include[]` and `chunking_strategy` are accepted and ignored (reported in a response header).
 */
import type { Engine, StreamOptions } from "@earshot/engines";
import { MAX_KEYTERM_CHARS, MAX_KEYTERMS } from "@earshot/protocol";
import { resolveConfig } from "../../stream-config.js";
import type { Form } from "./multipart-form.js";
import { OpenAiError } from "./openai-errors.js";

/** OpenAI's transcription models, all served by the engine's default model. */
export const OPENAI_MODEL_ALIASES = [
  "whisper-1",
  "gpt-4o-transcribe",
  "gpt-4o-mini-transcribe",
  "gpt-4o-mini-transcribe-2025-12-15",
  "gpt-transcribe",
] as const;

export const RESPONSE_FORMATS = ["json", "text", "srt", "vtt", "verbose_json"] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

const GRANULARITIES = ["word", "segment"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/**
 * Fields OpenAI defines that earshot accepts without acting on them; `prompt` only where the model
 * cannot take key terms (see `promptKeyterms`).
 */
export const IGNORED_FIELDS = ["prompt", "temperature", "include", "chunking_strategy"] as const;

export interface TranscriptionRequest {
  readonly engine: StreamOptions;
  readonly responseFormat: ResponseFormat;
  readonly granularities: ReadonlySet<Granularity>;
  /** Answer with server-sent events (`transcript.text.delta` per final, then `transcript.text.done`). */
  readonly stream: boolean;
  /** Fields that were sent but change nothing, for the `x-earshot-ignored-fields` header. */
  readonly ignored: readonly string[];
}

export function parseTranscriptionRequest(form: Form, engine: Engine): TranscriptionRequest {
  const one = (name: string): string | undefined => form.fields.get(name)?.[0];
  const model = one("model");
  if (model === undefined || model === "")
    throw new OpenAiError("invalid_request", "model is required.", { param: "model" });
  const responseFormat = one("response_format") ?? "json";
  if (!isOneOf(RESPONSE_FORMATS, responseFormat)) {
    throw new OpenAiError("invalid_request", `response_format must be one of ${RESPONSE_FORMATS.join(", ")}.`, {
      param: "response_format",
    });
  }
  const granularities = new Set<Granularity>();
  for (const value of form.fields.get("timestamp_granularities") ?? ["segment"]) {
    if (!isOneOf(GRANULARITIES, value)) {
      throw new OpenAiError("invalid_request", "timestamp_granularities[] takes word and segment.", {
        param: "timestamp_granularities",
      });
    }
    granularities.add(value);
  }
  const language = one("language");
  const config = {
    model: isOneOf(OPENAI_MODEL_ALIASES, model) ? "default" : model,
    ...(language ? { language } : {}),
    timestamp_granularity: "word",
  } as const;
  let resolved = resolveConfig(config, engine);
  // A model that honours key terms takes the prompt's phrases as key terms; others ignore it.
  const keyterms = promptKeyterms(one("prompt"));
  let promptUsed = false;
  if (
    resolved.ok &&
    keyterms.length > 0 &&
    (engine.capabilities.keytermModels ?? []).includes(resolved.config.engine.model)
  ) {
    resolved = resolveConfig({ ...config, keyterms }, engine);
    promptUsed = true;
  }
  if (!resolved.ok) {
    const code = resolved.code === "unsupported_language" ? "unsupported_language" : "unsupported_model";
    throw new OpenAiError(code, resolved.message, {
      param: code === "unsupported_language" ? "language" : "model",
    });
  }
  const stream = one("stream") ?? "false";
  if (stream !== "true" && stream !== "false") {
    throw new OpenAiError("invalid_request", "stream must be true or false.", { param: "stream" });
  }
  const ignored = IGNORED_FIELDS.filter((name) => form.fields.has(name) && !(name === "prompt" && promptUsed));
  // A file: live streams' audio is decoded first (StreamOptions.batch).
  const options = { ...resolved.config.engine, batch: true };
  return { engine: options, responseFormat, granularities, stream: stream === "true", ignored };
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/**
 * The prompt as key terms: its phrases separated by commas, semicolons or line breaks (OpenAI's
 * prompt is free text; a list of names and terms is the form that means key terms), trimmed, each
 * once, at most `MAX_KEYTERMS`, dropping phrases longer than `MAX_KEYTERM_CHARS`.
 */
export function promptKeyterms(prompt: string | undefined): string[] {
  if (prompt === undefined) return [];
  const phrases = prompt
    .split(/[,;\n\r]+/)
    .map((phrase) => phrase.trim().replace(/\s+/g, " "))
    .filter((phrase) => phrase !== "" && phrase.length <= MAX_KEYTERM_CHARS);
  return [...new Set(phrases)].slice(0, MAX_KEYTERMS);
}
