/**
 * The socket under the client, injectable: the Node entry uses `ws` (so it can send an
 * `Authorization` header and read a refused upgrade's status); the browser entry uses the WHATWG
 * `WebSocket` with the `token` subprotocol. Tests and unusual hosts can pass their own factory.
 */
import { EarshotClientError } from "./errors.js";

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
 * failed, so a refused key (HTTP 401) surfaces as `connection_failed`, not `unauthorized`.
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
      if (!opened) {
        handlers.error(
          new EarshotClientError(
            "connection_failed",
            `WebSocket handshake with ${redact(url)} failed (close ${event.code}): server unreachable or API key refused.`,
            { closeCode: event.code },
          ),
        );
      }
      handlers.close(event.code, event.reason);
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

/** The URL without query string (which could carry credentials), for messages. */
export function redact(url: string): string {
  const at = url.indexOf("?");
  return at === -1 ? url : url.slice(0, at);
}
