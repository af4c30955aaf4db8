/** Output formats of `earshot transcribe`: the finals of a stream as text, JSON, SRT or WebVTT. */

export const FORMATS = ["text", "json", "srt", "vtt"] as const;
export type Format = (typeof FORMATS)[number];

export interface FormatSegment {
  readonly text: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly words?: readonly { word: string; startMs: number; endMs: number; confidence: number }[];
}

/** A segment as the JSON output writes it (without its `id` and any labels). */
export function segmentJson(s: FormatSegment) {
  return {
    start_ms: s.startMs,
    end_ms: s.endMs,
    text: s.text,
    words: (s.words ?? []).map((w) => ({
      word: w.word,
      start_ms: w.startMs,
      end_ms: w.endMs,
      confidence: w.confidence,
    })),
  };
}

export function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}

export function formatTranscript(format: Format, segments: readonly FormatSegment[], durationMs: number): string {
  const spoken = segments.filter((s) => s.text.trim() !== "");
  switch (format) {
    case "text":
      return `${spoken.map((s) => s.text).join(" ")}\n`;
    case "json":
      return `${JSON.stringify(
        {
          text: spoken.map((s) => s.text).join(" "),
          duration_ms: durationMs,
          segments: spoken.map((s, id) => ({ id, ...segmentJson(s) })),
        },
        null,
        2,
      )}\n`;
    case "srt":
      return spoken
        .map((s, i) => `${i + 1}\n${timestamp(s.startMs, ",")} --> ${timestamp(s.endMs, ",")}\n${s.text}\n`)
        .join("\n");
    case "vtt":
      return `WEBVTT\n\n${spoken.map((s) => `${timestamp(s.startMs, ".")} --> ${timestamp(s.endMs, ".")}\n${s.text}\n`).join("\n")}`;
  }
}

/** hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm (WebVTT). */
export function timestamp(ms: number, separator: "," | "."): string {
  const total = Math.max(0, Math.round(ms));
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor(total / 60_000) % 60;
  const seconds = Math.floor(total / 1000) % 60;
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}${separator}${pad(total % 1000, 3)}`;
}
