import { defineError } from "@earshot/protocol/define-error";

/**
 * Why the microphone could not be captured, or stopped: typed codes a page can act on (ask again,
 * pick another device, tell the user to switch to HTTPS or another browser).
 */
export type CaptureErrorCode =
  /** No `getUserMedia` or no AudioWorklet in this browser. */
  | "unsupported"
  /** The page is not a secure context (HTTPS or localhost): browsers hide the microphone. */
  | "insecure_context"
  /** The user or a policy refused the microphone. */
  | "permission_denied"
  /** No microphone, or none with the requested `deviceId`. */
  | "device_not_found"
  /** The device exists but could not be opened (in use elsewhere, hardware error). */
  | "device_busy"
  /** The device went away while capturing (unplugged, permission revoked): its track ended. */
  | "device_lost"
  /** The capture worklet could not be loaded from its URL. */
  | "worklet_failed";

export class EarshotCaptureError extends defineError<CaptureErrorCode>("EarshotCaptureError") {}

/** A `getUserMedia` rejection (a DOMException, by name) as a capture error. */
export function captureErrorFrom(error: unknown): EarshotCaptureError {
  const name = (error as { name?: unknown } | null)?.name;
  const detail = error instanceof Error ? error.message : String(error);
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return new EarshotCaptureError("permission_denied", `Microphone access was refused: ${detail}`, { cause: error });
    case "NotFoundError":
    case "OverconstrainedError":
      return new EarshotCaptureError("device_not_found", `No such microphone: ${detail}`, { cause: error });
    default:
      return new EarshotCaptureError("device_busy", `The microphone could not be opened: ${detail}`, { cause: error });
  }
}
