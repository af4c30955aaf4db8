/**
 * Output of `earshot transcribe --channels split`: the finals of every channel in time order, each
 * with its speaker (the channel's label): `[customer] text` lines, JSON with `channel` and
 * `speaker` on every segment, SRT cues prefixed `[customer]`, WebVTT cues in a voice span
 * (`<v customer>`), so players and caption tools show who speaks.
 */
import { type Format, type FormatSegment, segmentJson, timestamp } from "./formats.js";

export interface SpeakerSegment extends FormatSegment {
  readonly channel: number;
  readonly speaker: string;
}

/** `segments` in time order (as MultichannelTranscript gives them); `speakers` by channel. */
export function formatSpeakerTranscript(
  format: Format,
  segments: readonly SpeakerSegment[],
  speakers: readonly string[],
  durationMs: number,
): string {
  const spoken = segments.filter((s) => s.text.trim() !== "");
  const line = (s: SpeakerSegment) => `[${s.speaker}] ${s.text}`;
  switch (format) {
    case "text":
      return spoken.map((s) => `${line(s)}\n`).join("");
    case "json":
      return `${JSON.stringify(
        {
          channels: speakers.map((speaker, channel) => ({ channel, speaker })),
          text: spoken.map(line).join("\n"),
          duration_ms: durationMs,
          segments: spoken.map((s, id) => ({ id, channel: s.channel, speaker: s.speaker, ...segmentJson(s) })),
        },
        null,
        2,
      )}\n`;
    case "srt":
      return spoken
        .map((s, i) => `${i + 1}\n${timestamp(s.startMs, ",")} --> ${timestamp(s.endMs, ",")}\n${line(s)}\n`)
        .join("\n");
    case "vtt":
      return `WEBVTT\n\n${spoken
        .map(
          (s) =>
            `${timestamp(s.startMs, ".")} --> ${timestamp(s.endMs, ".")}\n<v ${escapeVtt(s.speaker)}>${escapeVtt(s.text)}\n`,
        )
        .join("\n")}`;
  }
}

/** Cue text cannot hold a raw `&`, `<` or `>` (they start tags and escapes). */
function escapeVtt(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
