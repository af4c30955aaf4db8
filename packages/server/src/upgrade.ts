/**
 * WebSocket upgrades. Other WebSocket surfaces (Twilio media streams, call events) are routes of
 * their own (`UpgradeRoute`), handed the upgrades on their paths. On the stream endpoint: the credential (an API key, or a stream
 * token, in the `Authorization` header or the `token` subprotocol), then the key's connection
 * limits, then a quick capacity check; a connection let in is counted until its socket closes and
 * handed to a `Connection`. Every refusal is an HTTP error on the raw socket, counted in the metrics.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { ERRORS, STREAM_TOKEN_PREFIX } from "@earshot/protocol";
import { WebSocketServer } from "ws";
import { credentialFromRequest, type KeyRing, TOKEN_SUBPROTOCOL } from "./auth.js";
import { Connection } from "./connection.js";
import { connectionContext, type SessionAccess } from "./connection-context.js";
import type { ConnectionCounts } from "./connection-counts.js";
import { rejectUpgrade } from "./http-replies.js";
import { parseRequestTarget, type RequestTarget } from "./request-target.js";
import type { StreamToken } from "./stream-tokens.js";

export const STREAM_PATH = "/v1/audio/transcriptions/stream";

/** A WebSocket surface beside the stream endpoint: it answers the upgrades on its own paths. */
export interface UpgradeRoute {
  matches(pathname: string): boolean;
  handle(request: IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget & { ok: true }): void;
  /** Cuts its sockets (at shutdown). */
  terminateAll(): void;
}
const TOO_MANY_STREAMS_RETRY_AFTER_S = 5;

export interface UpgradeContext extends SessionAccess {
  readonly keys: KeyRing;
  readonly connections: ConnectionCounts;
}

type Authenticated =
  | { readonly ok: true; readonly key: string; readonly token: StreamToken | undefined }
  | { readonly ok: false; readonly code: "unauthorized" | "invalid_token"; readonly why: string };

export class StreamUpgrades {
  readonly #context: UpgradeContext;
  readonly #wss: WebSocketServer;
  readonly #routes: readonly UpgradeRoute[];

  constructor(context: UpgradeContext, routes: readonly UpgradeRoute[] = []) {
    this.#context = context;
    this.#routes = routes;
    this.#wss = new WebSocketServer({
      noServer: true,
      // Our own limit (maxFrameBytes) answers with a frame_too_large message; ws's cap, well above it,
      // bounds what a hostile peer can make us buffer.
      maxPayload: context.settings.limits.maxFrameBytes * 4,
      handleProtocols: (protocols) => (protocols.has(TOKEN_SUBPROTOCOL) ? TOKEN_SUBPROTOCOL : false),
    });
  }

  /** Cuts every stream socket (at shutdown, once the close frames had their chance to go out). */
  terminateAll(): void {
    for (const client of this.#wss.clients) client.terminate();
    for (const route of this.#routes) route.terminateAll();
  }

  readonly handle = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { log, metrics, capacity, sessions, connections, tokens } = this.#context;
    const url = parseRequestTarget(request.url);
    if (!url.ok) {
      metrics.refused("bad_request");
      rejectUpgrade(socket, 400, "bad_request", url.message);
      return;
    }
    const path = url.pathname;
    const route = this.#routes.find((candidate) => candidate.matches(path));
    if (route) {
      route.handle(request, socket, head, url);
      return;
    }
    if (path !== STREAM_PATH) {
      metrics.refused("not_found");
      rejectUpgrade(socket, 404, "not_found", `No WebSocket endpoint at ${path}.`);
      return;
    }
    const resumeToken = url.searchParams.get("resume_token");
    const who = this.#authenticate(request, resumeToken);
    if (!who.ok) {
      log.info({ remote: request.socket.remoteAddress }, `upgrade refused: ${who.code}`);
      metrics.refused(who.code);
      rejectUpgrade(socket, 401, who.code, who.why);
      return;
    }
    const { key, token } = who;
    const tooMany = connections.refusal(key);
    if (tooMany) {
      metrics.refused("too_many_streams");
      rejectUpgrade(socket, 429, "too_many_streams", tooMany, TOO_MANY_STREAMS_RETRY_AFTER_S);
      return;
    }
    // A full server still lets in a connection that names (`?resume_token=`) a live session of its
    // key: that session holds its share of the server already.
    const refused = capacity.refusal("after_release");
    const resuming = refused !== undefined && sessions.find(key, resumeToken) !== undefined;
    if (refused && !resuming) {
      log.info({ reason: refused.reason }, "upgrade refused: over capacity");
      metrics.refused(refused.reason);
      rejectUpgrade(socket, 503, "over_capacity", refused.message, capacity.retryAfterSeconds);
      return;
    }
    const counted = connections.add(key);
    const context = connectionContext(this.#context, key, token, counted);
    if (token) tokens.admit(token);
    let upgraded = false;
    let connection: Connection | undefined;
    const release = (): void => {
      if (token) tokens.release(token);
      counted.closed(connection?.bound ?? false);
    };
    // A handshake that fails (ws answers 400 and never calls back) still gives its counts back.
    socket.once("close", () => {
      if (!upgraded) release();
    });
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      upgraded = true;
      try {
        connection = new Connection(ws, context);
      } finally {
        // After the connection's own close handler, so a dropped session already counts as waiting;
        // registered even if the connection could not be set up (the guard then cuts the socket).
        ws.once("close", release);
      }
      log.info({ remote: request.socket.remoteAddress }, "stream connected");
    });
  };

  /** The key an upgrade acts for: an API key, or the key that minted its stream token. */
  #authenticate(request: IncomingMessage, resumeToken: string | null): Authenticated {
    const credential = credentialFromRequest(request);
    if (this.#context.keys.accepts(credential)) return { ok: true, key: credential as string, token: undefined };
    if (!credential?.startsWith(STREAM_TOKEN_PREFIX)) {
      return { ok: false, code: "unauthorized", why: ERRORS.unauthorized.summary };
    }
    const checked = this.#context.tokens.check(credential, resumeToken);
    if (!checked.ok) return { ok: false, code: "invalid_token", why: checked.why };
    return { ok: true, key: checked.token.key, token: checked.token };
  }
}
