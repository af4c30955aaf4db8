/**
 * One WebSocket frame from Twilio, validated at the boundary: a JSON text frame within the frame
 * limit whose `event` is one Twilio documents and whose fields pass its schema
 * (`@earshot/protocol`'s Twilio schemas). Anything else is a fault with its code; nothing past here
 * reads a field that was not validated. `media.payload` is checked as base64 here too.
 */
import { isTwilioEvent, type TwilioMessage, TwilioMessageSchema } from "@earshot/protocol";
import type { RawData } from "ws";
import type { TwilioFaultCode } from "./twilio-faults.js";

/** A Twilio frame is about 400 bytes (20 ms of audio); this leaves room for large `start`s and bunched audio. */
export const TWILIO_MAX_FRAME_BYTES = 64 * 1024;

export type TwilioFrame =
  | { readonly kind: "message"; readonly message: TwilioMessage; readonly audio: Buffer | undefined }
  | { readonly kind: "fault"; readonly code: TwilioFaultCode; readonly message: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function readTwilioFrame(data: RawData, isBinary: boolean): TwilioFrame {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (bytes.byteLength > TWILIO_MAX_FRAME_BYTES) {
    return fault(
      "twilio_frame_too_large",
      `Frame of ${bytes.byteLength} bytes; the limit is ${TWILIO_MAX_FRAME_BYTES}.`,
    );
  }
  if (isBinary) return fault("twilio_binary_frame", `Binary frame of ${bytes.byteLength} bytes.`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch {
    return fault("twilio_bad_json", "The frame is not JSON.");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return fault("twilio_bad_json", "The frame is not a JSON object.");
  }
  const event = (raw as Record<string, unknown>).event;
  if (!isTwilioEvent(event)) {
    const shown = typeof event === "string" ? JSON.stringify(event.slice(0, 32)) : `of type ${typeof event}`;
    return fault("twilio_unknown_event", `Unknown event ${shown}.`);
  }
  const parsed = TwilioMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fault(
      "twilio_invalid_message",
      `${event}: ${issue?.path.join(".") || "message"}: ${issue?.message ?? "invalid"}.`,
    );
  }
  const message = parsed.data;
  if (message.event !== "media") return { kind: "message", message, audio: undefined };
  if (!BASE64.test(message.media.payload)) return fault("twilio_bad_base64", "media.payload is not base64.");
  return { kind: "message", message, audio: Buffer.from(message.media.payload, "base64") };
}

const fault = (code: TwilioFaultCode, message: string): TwilioFrame => ({ kind: "fault", code, message });
