/**
 * A decoded recording in each OpenAI `response_format`: `json` and `verbose_json` as
 * `application/json` (the SDK parses only JSON content types), `text`, `srt` and `vtt` as
 * `text/plain` (the SDK returns them as strings). Times are seconds, as OpenAI gives them.
 */
import type { DecodedSegment } from "./batch-decode.js";
import type { Granularity, ResponseFormat } from "./transcription-request.js";

export interface RenderedTranscript {
  readonly contentType: string;
  readonly body: string;
}

/** ISO-639-1 codes to the English names `verbose_json` reports (OpenAI says `"english"`, not `"en"`). */
const LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  en: "english",
  de: "german",
  es: "spanish",
  fr: "french",
  it: "italian",
  ja: "japanese",
  ko: "korean",
  nl: "dutch",
  pt: "portuguese",
  ru: "russian",
  zh: "chinese",
};

export interface RenderInput {
  readonly segments: readonly DecodedSegment[];
  readonly durationMs: number;
  readonly language: string;
  readonly format: ResponseFormat;
  readonly granularities: ReadonlySet<Granularity>;
}

export function renderTranscript(input: RenderInput): RenderedTranscript {
  const { segments, durationMs, format } = input;
  const text = segments.map((segment) => segment.text).join(" ");
  const usage = durationUsage(durationMs);
  switch (format) {
    case "json":
      return jsonBody({ text, usage });
    case "text":
      return { contentType: "text/plain; charset=utf-8", body: `${text}\n` };
    case "srt":
      return { contentType: "text/plain; charset=utf-8", body: srt(segments) };
    case "vtt":
      return { contentType: "text/plain; charset=utf-8", body: vtt(segments) };
    case "verbose_json":
      return jsonBody(verbose(input, text, usage));
  }
}

/** OpenAI's usage of a transcription billed by duration: whole seconds, rounded up. */
export function durationUsage(durationMs: number): { type: "duration"; seconds: number } {
  return { type: "duration", seconds: Math.ceil(durationMs / 1000) };
}

function verbose({ segments, durationMs, language, granularities }: RenderInput, text: string, usage: object): object {
  return {
    task: "transcribe",
    language: LANGUAGE_NAMES[language] ?? language,
    duration: durationMs / 1000,
    text,
    ...(granularities.has("word")
      ? {
          words: segments.flatMap((segment) =>
            segment.words.map((word) => ({ word: word.word, start: word.startMs / 1000, end: word.endMs / 1000 })),
          ),
        }
      : {}),
    ...(granularities.has("segment")
      ? {
          segments: segments.map((segment, id) => ({
            id,
            seek: 0,
            start: segment.startMs / 1000,
            end: segment.endMs / 1000,
            text: ` ${segment.text}`,
            // Whisper's own fields: earshot's engines have no tokens or log-probabilities to report.
            tokens: [],
            temperature: 0,
            avg_logprob: 0,
            compression_ratio: 0,
            no_speech_prob: 0,
          })),
        }
      : {}),
    usage,
  };
}

function jsonBody(body: object): RenderedTranscript {
  return { contentType: "application/json", body: JSON.stringify(body) };
}

function srt(segments: readonly DecodedSegment[]): string {
  return segments
    .map((s, i) => `${i + 1}\n${clock(s.startMs, ",")} --> ${clock(s.endMs, ",")}\n${s.text}\n\n`)
    .join("");
}

function vtt(segments: readonly DecodedSegment[]): string {
  return `WEBVTT\n\n${segments.map((s) => `${clock(s.startMs, ".")} --> ${clock(s.endMs, ".")}\n${s.text}\n\n`).join("")}`;
}

/** `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT). */
function clock(ms: number, separator: "," | "."): string {
  const whole = Math.max(0, Math.round(ms));
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor(whole / 60_000) % 60;
  const seconds = Math.floor(whole / 1000) % 60;
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}${separator}${pad(whole % 1000, 3)}`;
}
