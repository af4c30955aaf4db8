/**
 * The socket under the client, injectable: the Node entry uses `ws` (so it can send an
 * `Authorization` header and read a refused upgrade's status); the browser entry uses the WHATWG
 * `WebSocket` with the `token` subprotocol. Tests and unusual hosts can pass their own factory.
 */
import { EarshotClientError } from "./errors.js";
import { STREAM_TOKEN_PREFIX } from "./options.js";

export interface TransportHandlers {
  open(): void;
  message(data: string | Uint8Array): void;
  /** The connection failed or broke; always followed by `close`. */
  error(error: EarshotClientError): void;
  /** Called exactly once, last. */
  close(code: number, reason: string): void;
}

export interface Transport {
  /** Bytes accepted by `send` but not yet written to the network. */
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /**
   * Drops the connection at once, without a closing handshake (a half-open peer would never
   * answer one). Optional: without it the client calls `close()` and stops listening.
   */
  terminate?(): void;
}

export interface TransportRequest {
  /** Full `ws:`/`wss:` URL of the stream endpoint. */
  readonly url: string;
  readonly apiKey: string | undefined;
}

export type TransportFactory = (request: TransportRequest, handlers: TransportHandlers) => Transport;

/** The subset of the WHATWG WebSocket the browser transport uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly protocol: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => WebSocketLike;

export const TOKEN_SUBPROTOCOL = "token";

/**
 * A transport over a WHATWG WebSocket (default `globalThis.WebSocket`). The API key travels as the
 * subprotocols `token, <key>`, since browsers cannot set headers. Browsers hide why a handshake
 * failed (no status, close 1006 either way), so after a failed one the transport asks the server
 * anything over HTTP (`handshakeFailure`) to tell an unreachable server from a refusal.
 */
export function browserTransport(WebSocketImpl?: WebSocketConstructorLike): TransportFactory {
  return ({ url, apiKey }, handlers) => {
    const Impl = WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
    if (Impl === undefined) {
      throw new EarshotClientError("connection_failed", "No WebSocket implementation: pass one to browserTransport().");
    }
    const socket = new Impl(url, apiKey === undefined ? undefined : [TOKEN_SUBPROTOCOL, apiKey]);
    socket.binaryType = "arraybuffer";
    let opened = false;
    let closed = false;
    socket.onopen = () => {
      opened = true;
      handlers.open();
    };
    socket.onmessage = (event) => {
      const { data } = event;
      if (typeof data === "string") handlers.message(data);
      else if (data instanceof ArrayBuffer) handlers.message(new Uint8Array(data));
    };
    // Browsers give an error event no detail; the close event that follows says enough.
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (closed) return;
      closed = true;
      if (opened) {
        handlers.close(event.code, event.reason);
        return;
      }
      void handshakeFailure(url, apiKey, event.code).then((error) => {
        handlers.error(error);
        handlers.close(event.code, event.reason);
      });
    };
    return {
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      send: (data) => socket.send(data),
      close: (code, reason) => socket.close(code, reason),
      // Browsers have no way to skip the closing handshake.
      terminate: () => socket.close(),
    };
  };
}

/** How long the reachability probe after a failed handshake may take. */
const PROBE_TIMEOUT_MS = 3000;

/**
 * Why a browser handshake failed, as far as a page can know: a `no-cors` request to the same URL
 * (any HTTP answer resolves it, cross-origin too; only a network failure rejects) says whether the
 * server is reachable. Reachable and refused with a stream token: `invalid_token`, the likeliest
 * refusal (the server restarted, or the token's session expired; `too_many_streams` looks the
 * same), so the client can fetch a fresh token or stop instead of retrying a dead one forever.
 */
async function handshakeFailure(url: string, credential: string | undefined, closeCode: number) {
  const where = redact(url);
  let reachable = false;
  try {
    await fetch(where.replace(/^ws/, "http"), {
      mode: "no-cors",
      cache: "no-store",
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    reachable = true;
  } catch {
    // unreachable (or no fetch): the socket's own failure says as much
  }
  if (reachable && credential?.startsWith(STREAM_TOKEN_PREFIX)) {
    return new EarshotClientError(
      "invalid_token",
      `The server at ${where} refused the stream token (unknown after a restart, expired, or used by another stream).`,
      { closeCode, retryable: false },
    );
  }
  const why = reachable
    ? "the server refused the upgrade (API key refused, too many streams, or at capacity; the browser hides which)"
    : "server unreachable";
  return new EarshotClientError(
    "connection_failed",
    `WebSocket handshake with ${where} failed (close ${closeCode}): ${why}.`,
    {
      closeCode,
    },
  );
}

/** The URL without query string (which could carry credentials), for messages. */
export function redact(url: string): string {
  const at = url.indexOf("?");
  return at === -1 ? url : url.slice(0, at);
}
