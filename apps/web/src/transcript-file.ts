/** The transcript as downloads: plain text (one final a line) and JSON (segments with word times). */
import type { TranscriptMessage } from "@earshot/protocol";

export function transcriptText(finals: readonly TranscriptMessage[]): string {
  return `${finals
    .map((f) => f.text)
    .filter(Boolean)
    .join("\n")}\n`;
}

export function transcriptJson(finals: readonly TranscriptMessage[]): string {
  const segments = finals.map((f) => ({
    segment_id: f.segment_id,
    start_ms: f.start_ms,
    end_ms: f.end_ms,
    text: f.text,
    ...(f.words ? { words: f.words } : {}),
  }));
  return `${JSON.stringify({ created_at: new Date().toISOString(), segments }, null, 2)}\n`;
}

/** Saves `text` as a file through a temporary link (no server round trip). */
export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
