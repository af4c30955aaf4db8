/**
 * The Deepgram surface's errors, as Deepgram gives them. Refused upgrades are HTTP answers with
 * Deepgram's REST error body `{"err_code","err_msg","request_id"}` (its `err_code`s as Deepgram's
 * errors reference uses them) and its `dg-request-id` and `dg-error` headers; a stream that fails once open ends with a WebSocket close code and a UTF-8
 * reason, Deepgram's own payload (`DATA-0000`, `NET-0001`, …) where Deepgram has one.
 * docs/compatibility.md lists the same table; `listen-errors.test.ts` checks they agree.
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { defineError } from "@earshot/protocol/define-error";

/** Refused at the upgrade: the HTTP status and Deepgram's `err_code`. */
export const DEEPGRAM_UPGRADE_ERRORS = {
  invalid_auth: { status: 401, errCode: "INVALID_AUTH" },
  bad_request: { status: 400, errCode: "INVALID_QUERY_PARAMETER" },
  unsupported_encoding: { status: 400, errCode: "Bad Request" },
  unsupported_language: { status: 400, errCode: "Bad Request" },
  unsupported_redaction: { status: 400, errCode: "Bad Request" },
  keyterms_unsupported: { status: 400, errCode: "Bad Request" },
  too_many_streams: { status: 429, errCode: "TOO_MANY_REQUESTS" },
  over_capacity: { status: 503, errCode: "Service Unavailable" },
  engine_unavailable: { status: 503, errCode: "Service Unavailable" },
} as const satisfies Record<string, { status: number; errCode: string }>;

/** Ends an open stream: the close code and its reason. */
export const DEEPGRAM_CLOSE_ERRORS = {
  undecodable_audio: { close: 1008, reason: "DATA-0000" },
  invalid_message: { close: 1008, reason: "DATA-0000" },
  idle_timeout: { close: 1011, reason: "NET-0001" },
  stream_failed: { close: 1011, reason: "NET-0000" },
  slow_consumer: { close: 1008, reason: "slow_consumer" },
  server_shutting_down: { close: 1012, reason: "server_shutting_down" },
} as const satisfies Record<string, { close: number; reason: string }>;

export type DeepgramUpgradeErrorCode = keyof typeof DEEPGRAM_UPGRADE_ERRORS;
export type DeepgramCloseErrorCode = keyof typeof DEEPGRAM_CLOSE_ERRORS;

/** A refused upgrade, to answer with `rejectListenUpgrade`. */
export class DeepgramUpgradeError extends defineError<
  DeepgramUpgradeErrorCode,
  { retryAfterSeconds: number | undefined }
>("DeepgramUpgradeError") {}

/** Deepgram's answer to a failed handshake, written on the raw socket, which is then closed. */
export function rejectListenUpgrade(socket: Duplex, error: DeepgramUpgradeError, requestId: string): void {
  const { status, errCode } = DEEPGRAM_UPGRADE_ERRORS[error.code];
  const body = JSON.stringify({ err_code: errCode, err_msg: error.message, request_id: requestId });
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(body)),
    "dg-request-id": requestId,
    // A header value is one line of visible ASCII: the message with anything else replaced.
    "dg-error": error.message.replace(/[^\x20-\x7e]/g, "?"),
    ...(status === 401 ? { "WWW-Authenticate": 'Token realm="earshot"' } : {}),
    ...(error.retryAfterSeconds === undefined ? {} : { "Retry-After": String(error.retryAfterSeconds) }),
    Connection: "close",
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.once("finish", () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n${lines.join("")}\r\n${body}`);
}
