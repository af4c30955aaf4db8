/**
 * Checks what the server sends before the client trusts it: the fields each message type must have,
 * with their types. Unknown message types are returned as `undefined` (ignored: forward compatible).
 */
import type { ServerMessage, TranscriptMessage } from "@earshot/protocol";

export type ParseResult = { ok: true; message: ServerMessage | undefined } | { ok: false; reason: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const FIELDS: Record<ServerMessage["type"], Record<string, "string" | "number" | "boolean" | "object">> = {
  session_started: { protocol_version: "number", session_id: "string", config: "object" },
  session_resumed: { session_id: "string", received_samples: "number" },
  ack: { received_samples: "number" },
  transcript: {
    is_final: "boolean",
    text: "string",
    segment_id: "number",
    start_ms: "number",
    end_ms: "number",
    language: "string",
  },
  error: { code: "string", message: "string", retryable: "boolean" },
  warning: { code: "string", message: "string" },
  utterance_end: { last_word_end_ms: "number", segment_id: "number" },
  checkpoint: { sample: "number", state: "string", last_segment_id: "number" },
  stream_closed: { audio_ms: "number" },
};

export function parseServerMessage(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: "a text frame is not JSON" };
  }
  if (!isRecord(raw) || typeof raw.type !== "string") return { ok: false, reason: "a message has no string `type`" };
  if (!Object.hasOwn(FIELDS, raw.type)) return { ok: true, message: undefined };
  const type = raw.type as ServerMessage["type"];
  for (const [field, kind] of Object.entries(FIELDS[type])) {
    const value = raw[field];
    const ok = kind === "object" ? isRecord(value) : typeof value === kind;
    if (!ok) return { ok: false, reason: `${type}.${field} is not a ${kind}` };
  }
  if (type === "transcript" && !validWords(raw.words)) return { ok: false, reason: "transcript.words is malformed" };
  return { ok: true, message: raw as unknown as ServerMessage };
}

function validWords(words: unknown): words is TranscriptMessage["words"] {
  if (words === undefined) return true;
  return (
    Array.isArray(words) &&
    words.every(
      (w) =>
        isRecord(w) &&
        typeof w.word === "string" &&
        typeof w.start_ms === "number" &&
        typeof w.end_ms === "number" &&
        typeof w.confidence === "number",
    )
  );
}
