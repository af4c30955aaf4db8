/**
 * One frame from an AssemblyAI client, read at the boundary: a binary frame is audio; a text frame
 * must be one of the four client messages (`AaiClientMessageSchema`), or it is a fault with
 * AssemblyAI's code: not JSON (`invalid_json`), an unknown `type` (`invalid_message_type`), or a
 * known one of the wrong shape, or JSON that is not an object (`invalid_message`).
 */
import { AAI_CLIENT_MESSAGE_TYPES, type AaiClientMessage, AaiClientMessageSchema } from "@earshot/protocol";
import type { RawData } from "ws";
import type { AaiErrorCode } from "./aai-errors.js";

/** How much of a bad frame an error message quotes. */
const QUOTED_CHARS = 64;

export type AaiFrame =
  | { readonly kind: "audio"; readonly bytes: Buffer }
  | { readonly kind: "message"; readonly message: AaiClientMessage }
  | { readonly kind: "fault"; readonly code: AaiErrorCode; readonly why: string };

export function readAaiFrame(data: RawData, isBinary: boolean): AaiFrame {
  const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  if (isBinary) return { kind: "audio", bytes };
  const text = bytes.toString("utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { kind: "fault", code: "invalid_json", why: text.slice(0, QUOTED_CHARS) };
  }
  const parsed = AaiClientMessageSchema.safeParse(raw);
  if (parsed.success) return { kind: "message", message: parsed.data };
  const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type === "string" && !AAI_CLIENT_MESSAGE_TYPES.includes(type)) {
    return { kind: "fault", code: "invalid_message_type", why: type.slice(0, QUOTED_CHARS) };
  }
  const issue = parsed.error.issues[0];
  return {
    kind: "fault",
    code: "invalid_message",
    why: `${issue?.path.join(".") || "message"}: ${issue?.message ?? "invalid"}`,
  };
}
