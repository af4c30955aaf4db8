/**
 * What stands between a bug in one HTTP request and the process: every entry point of the HTTP
 * server (a request, an upgrade, a request Node's parser refused) turns its own failure into an
 * answer on its own socket, logged, and never lets it escape as an uncaught exception or an
 * unhandled rejection (either ends the process, and every stream on it).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { httpError, socketError } from "./http-replies.js";
import { parseRequestTarget } from "./request-target.js";

const INTERNAL = "The server failed while handling this request (a bug: it is logged). Retry.";

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;
type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

export class HttpGuards {
  readonly #log: Logger;
  /** The response each socket is writing, until it has finished (Node's "in-flight" response). */
  readonly #writing = new WeakMap<Duplex, ServerResponse>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** A request handler whose throw or rejection is answered with 500 `internal_error`. */
  request(handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>): RequestHandler {
    return (request, response) => {
      const socket = request.socket;
      this.#writing.set(socket, response);
      response.once("finish", () => {
        if (this.#writing.get(socket) === response) this.#writing.delete(socket);
      });
      const fail = (error: unknown): void => {
        this.#log.error({ err: error, ...where(request) }, "HTTP request handler failed");
        // Part of an answer went out: no other answer fits in its place.
        if (response.headersSent) {
          response.destroy();
          return;
        }
        try {
          httpError(response, 500, "internal_error", INTERNAL, { connection: "close" });
        } catch {
          response.destroy();
        }
      };
      try {
        handle(request, response).catch(fail);
      } catch (error) {
        fail(error); // handle() threw instead of rejecting (it is not async)
      }
    };
  }

  /** An upgrade handler whose throw is answered with 500 `internal_error` on the raw socket. */
  upgrade(handle: UpgradeHandler): UpgradeHandler {
    return (request, socket, head) => {
      socket.on("error", () => socket.destroy());
      try {
        handle(request, socket, head);
      } catch (error) {
        this.#log.error({ err: error, ...where(request) }, "upgrade handler failed");
        if (!socket.writable) return; // answered already, or gone
        // A 101 went out (ws took the socket over): no HTTP answer fits any more.
        if ("bytesWritten" in socket && typeof socket.bytesWritten === "number" && socket.bytesWritten > 0) {
          socket.destroy();
          return;
        }
        socketError(socket, 500, "internal_error", INTERNAL);
      }
    };
  }

  /**
   * Node's parser refused the request (`clientError`): answer as Node does without a listener
   * (400, 431 for headers over `--max-http-header-size`, 413 for a chunk extension too large, 408
   * for a request that took too long), with our JSON error body, then close. Like Node, no answer
   * when one to an earlier request on the socket is still being written (its body may run to the
   * close): the socket is just closed.
   */
  readonly clientError = (error: Error & { code?: string }, socket: Duplex): void => {
    if (error.code === "ECONNRESET" || !socket.writable || this.#writing.get(socket)?.headersSent) {
      socket.destroy();
      return;
    }
    this.#log.debug({ code: error.code }, "malformed HTTP request refused");
    const [status, message] = PARSER_REFUSALS.get(error.code ?? "") ?? [
      400,
      `The request is not valid HTTP/1.1 (${error.code ?? "unparsable"}).`,
    ];
    socketError(socket, status, "bad_request", message);
  };
}

const PARSER_REFUSALS: ReadonlyMap<string, readonly [number, string]> = new Map([
  ["HPE_HEADER_OVERFLOW", [431, "The request line and headers are over the server's size limit."]],
  ["HPE_CHUNK_EXTENSIONS_OVERFLOW", [413, "A chunk extension is over the server's size limit."]],
  ["ERR_HTTP_REQUEST_TIMEOUT", [408, "The request did not arrive in time."]],
]);

/** What a log line may say about a request: its method and path (no headers, no query: credentials). */
function where(request: IncomingMessage): { method: string | undefined; path: string | undefined } {
  const target = parseRequestTarget(request.url);
  return { method: request.method, path: target.ok ? target.pathname : undefined };
}
