/**
 * JSON answers of the HTTP routes: bodies, and errors as `{code, message, retryable}`, on a
 * response or, where there is none (a refused upgrade, a request Node's parser refused), written
 * raw on the socket.
 */
import { type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { ERRORS, type ErrorCode } from "@earshot/protocol";

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response
    .writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
    .end(text);
}

export function httpError(
  response: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  json(response, status, { code, message, retryable: ERRORS[code].retryable }, headers);
}

/**
 * The same error as a whole HTTP response written on the socket, which is then closed: once it is
 * flushed, not when the peer gets round to closing its side (a peer that never does would hold the
 * socket forever, with no HTTP timeout left to end it).
 */
export function socketError(
  socket: Duplex,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ code, message, retryable: ERRORS[code].retryable });
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${lines.join("")}` +
      `Connection: close\r\n\r\n${body}`,
  );
}

/** A WebSocket upgrade refused: 401s say how to authenticate, and refusals that pass say when to retry. */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  code: ErrorCode,
  message: string,
  retryAfterSeconds?: number,
): void {
  socketError(socket, status, code, message, {
    ...(status === 401 ? { "WWW-Authenticate": 'Bearer realm="earshot"' } : {}),
    ...(retryAfterSeconds === undefined ? {} : { "Retry-After": String(retryAfterSeconds) }),
  });
}
