/**
 * One WebSocket message from a client, validated at the boundary: within the frame limit, and for
 * a text frame a JSON object whose `type` is a client message and whose fields pass its schema.
 * Nothing past here reads a field that was not validated. Binary frames are audio.
 */
import { type ClientMessage, ClientMessageSchema, isClientMessageType, unknownFields } from "@earshot/protocol";
import type { RawData } from "ws";

export type ClientFrame =
  | { readonly kind: "audio"; readonly bytes: Buffer }
  /** `unknownFields`: fields the schema does not know, ignored (the client is warned). */
  | { readonly kind: "message"; readonly message: ClientMessage; readonly unknownFields: readonly string[] }
  /** Over `maxFrameBytes`: the stream ends (`frame_too_large`). */
  | { readonly kind: "too_large"; readonly message: string }
  /** Not a valid client message: an error, the stream goes on. */
  | {
      readonly kind: "invalid";
      readonly code: "bad_json" | "invalid_message" | "unknown_message_type";
      readonly message: string;
    };

export function readClientFrame(data: RawData, isBinary: boolean, maxFrameBytes: number): ClientFrame {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (bytes.byteLength > maxFrameBytes) {
    return { kind: "too_large", message: `Message of ${bytes.byteLength} bytes; the limit is ${maxFrameBytes}.` };
  }
  if (isBinary) return { kind: "audio", bytes };
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch {
    return {
      kind: "invalid",
      code: "bad_json",
      message: "Text frames must be JSON objects; send audio as binary frames or audio_chunk.",
    };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return {
      kind: "invalid",
      code: "invalid_message",
      message: "A message must be a JSON object with a string `type`.",
    };
  }
  const record = raw as Record<string, unknown>;
  if (!isClientMessageType(record.type)) {
    const shown =
      typeof record.type === "string" ? JSON.stringify(record.type.slice(0, 64)) : `of type ${typeof record.type}`;
    return { kind: "invalid", code: "unknown_message_type", message: `Unknown message type ${shown}.` };
  }
  const parsed = ClientMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "message";
    return {
      kind: "invalid",
      code: "invalid_message",
      message: `${record.type}: ${where}: ${issue?.message ?? "invalid"}.`,
    };
  }
  return { kind: "message", message: parsed.data, unknownFields: unknownFields(record) };
}
