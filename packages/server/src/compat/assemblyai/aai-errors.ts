/**
 * The AssemblyAI surface's errors, as AssemblyAI sends them on `/v3/ws` ("Common session errors and
 * closures"): an `Error` text frame `{"type":"Error","error_code":n,"error":"…"}`, then a close with
 * the same code. Auth is checked after the upgrade, as AssemblyAI does, so a refused credential is a
 * 1008 close, not an HTTP 401. One table of our codes with their AssemblyAI code and reason prefix;
 * docs/compatibility.md lists the same table and `aai-errors.test.ts` checks they agree.
 *
 * `GET /v3/token` answers its errors as AssemblyAI's HTTP API does: `{"error":"…"}` with a status.
 */
import type { ServerResponse } from "node:http";
import type { ErrorCode } from "@earshot/protocol";

export const AAI_ERRORS = {
  /** No API key or token, or one this server does not know. */
  unauthorized: { closeCode: 1008, reason: "Unauthorized Connection" },
  /** A query parameter AssemblyAI would refuse, or one this server cannot honour. */
  invalid_parameter: { closeCode: 3006, reason: "Invalid Parameter" },
  /** A text frame that is not JSON. */
  invalid_json: { closeCode: 3006, reason: "Invalid JSON" },
  /** JSON with an unknown `type`. */
  invalid_message_type: { closeCode: 3006, reason: "Invalid Message Type" },
  /** A known `type` with fields of the wrong shape, or JSON that is not an object. */
  invalid_message: { closeCode: 3006, reason: "Invalid Message" },
  /** An audio frame longer than 1000 ms, or not a whole number of samples. */
  input_duration: { closeCode: 3007, reason: "Input duration violation" },
  /** The session passed the server's longest stream. */
  session_expired: { closeCode: 3008, reason: "Session Expired" },
  /** The key has as many streams as it may, or the server is at capacity. */
  too_many_sessions: { closeCode: 3009, reason: "Unauthorized Connection: Too many concurrent sessions" },
  /** The engine failed, or is not loaded, or the client read too slowly: the session is cancelled. */
  session_cancelled: { closeCode: 3005, reason: "Session Cancelled" },
  /** The server is shutting down: reconnect (to another replica). */
  server_shutting_down: { closeCode: 1012, reason: "Service Restart" },
} as const satisfies Record<string, { closeCode: number; reason: string }>;

export type AaiErrorCode = keyof typeof AAI_ERRORS;

export interface AaiErrorFrame {
  readonly type: "Error";
  readonly error_code: number;
  readonly error: string;
}

export function aaiErrorFrame(code: AaiErrorCode, detail: string): AaiErrorFrame {
  const { closeCode, reason } = AAI_ERRORS[code];
  return { type: "Error", error_code: closeCode, error: `${reason}: ${detail}` };
}

/** The AssemblyAI error an earshot session error becomes (errors that end a session only). */
export function aaiCodeOf(code: ErrorCode): AaiErrorCode {
  switch (code) {
    case "session_too_long":
      return "session_expired";
    case "server_shutting_down":
    case "draining":
      return "server_shutting_down";
    case "too_many_streams":
    case "over_capacity":
      return "too_many_sessions";
    case "unsupported_language":
    case "unsupported_model":
    case "unsupported_encoding":
    case "keyterms_unsupported":
    case "unsupported_redaction":
      return "invalid_parameter";
    default:
      return "session_cancelled";
  }
}

/** An error of `GET /v3/token`, in AssemblyAI's HTTP shape (the SDK throws `error` as its message). */
export function sendAaiHttpError(
  response: ServerResponse,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = JSON.stringify({ error: message });
  response
    .writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers })
    .end(body);
}
