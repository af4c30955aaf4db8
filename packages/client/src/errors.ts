import type { ErrorCode } from "@earshot/protocol";
import { defineError } from "@earshot/protocol/define-error";

/**
 * Codes the client adds to the server's (`ErrorCode`, which arrive unchanged from `error` messages
 * and from HTTP upgrade refusals such as 401 `unauthorized`).
 */
export type ClientOnlyErrorCode =
  /** The WebSocket could not be opened (network, refused upgrade, timeout). */
  | "connection_failed"
  /** The connection ended abnormally after the session had started. */
  | "connection_lost"
  /** The server sent something that is not protocol v1. */
  | "protocol_error"
  /** A method was called in a state that does not allow it (e.g. `send` after `close`). */
  | "invalid_state"
  /** `close()` gave up waiting for the server's `stream_closed`. */
  | "close_timeout";

export type ClientErrorCode = ErrorCode | ClientOnlyErrorCode;

const RETRYABLE: Record<ClientOnlyErrorCode, boolean> = {
  connection_failed: true,
  connection_lost: true,
  protocol_error: false,
  invalid_state: false,
  close_timeout: true,
};

export interface ClientErrorFields {
  /** Defaults by code (server errors carry their own). */
  readonly retryable: boolean;
  /** HTTP status of a refused WebSocket upgrade (Node transport only; browsers do not expose it). */
  readonly status: number | undefined;
  /** WebSocket close code, when the error ended the connection. */
  readonly closeCode: number | undefined;
}

export class EarshotClientError extends defineError<ClientErrorCode, ClientErrorFields>(
  "EarshotClientError",
  (code) => ({ retryable: code in RETRYABLE ? RETRYABLE[code as ClientOnlyErrorCode] : false }),
) {}
