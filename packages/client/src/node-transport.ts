/**
 * A transport over the `ws` package: the API key goes in `Authorization: Bearer`, and a refused
 * upgrade (401 …) is read so `connect()` rejects with the server's code (`unauthorized`).
 */
import type { IncomingMessage } from "node:http";
import { ERRORS, type ErrorCode } from "@earshot/protocol";
import WebSocket from "ws";
import { EarshotClientError } from "./errors.js";
import { redact, type TransportFactory } from "./transport.js";

/** Largest message accepted from the server (transcripts are small). */
const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
/** Largest refusal body read. */
const MAX_ERROR_BODY_BYTES = 4096;

export const nodeTransport: TransportFactory = ({ url, apiKey }, handlers) => {
  const socket = new WebSocket(url, {
    headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
    maxPayload: MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
  });
  let opened = false;
  let failure: EarshotClientError | undefined;

  socket.on("open", () => {
    opened = true;
    handlers.open();
  });
  socket.on("message", (data, isBinary) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    handlers.message(isBinary ? bytes : bytes.toString("utf8"));
  });
  socket.on("unexpected-response", (_request, response) => {
    readBody(response).then((body) => {
      failure = refusal(url, response.statusCode ?? 0, body);
      socket.terminate();
    });
  });
  socket.on("error", (error) => {
    if (!opened) {
      failure ??= new EarshotClientError("connection_failed", `Cannot connect to ${redact(url)}: ${error.message}`, {
        cause: error,
      });
    } else {
      failure ??= new EarshotClientError("connection_lost", `Connection error: ${error.message}`, { cause: error });
    }
  });
  socket.on("close", (code, reason) => {
    if (failure) handlers.error(failure);
    handlers.close(code, reason.toString("utf8"));
  });

  return {
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    send: (data) => socket.send(data),
    close: (code, reason) => {
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(code, reason);
    },
    terminate: () => socket.terminate(),
  };
};

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    response.on("data", (part: Buffer) => {
      size += part.length;
      if (size <= MAX_ERROR_BODY_BYTES) parts.push(part);
      else response.destroy();
    });
    response.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    response.on("close", () => resolve(Buffer.concat(parts).toString("utf8")));
    response.on("error", () => resolve(""));
  });
}

/** The server answers refusals with `{ code, message, retryable }` (see protocol errors). */
function refusal(url: string, status: number, body: string): EarshotClientError {
  let parsed: { code?: unknown; message?: unknown; retryable?: unknown } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    // not JSON: a proxy or another server; fall back to the status.
  }
  const code =
    typeof parsed.code === "string" && Object.hasOwn(ERRORS, parsed.code)
      ? (parsed.code as ErrorCode)
      : status === 401
        ? "unauthorized"
        : "connection_failed";
  const message =
    typeof parsed.message === "string" ? parsed.message : `Upgrade to ${redact(url)} refused with HTTP ${status}.`;
  return new EarshotClientError(code, message, {
    status,
    ...(typeof parsed.retryable === "boolean" ? { retryable: parsed.retryable } : {}),
  });
}
