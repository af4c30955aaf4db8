/**
 * The HTTP + WebSocket server. `createServer()` builds it (tests drive the object); `listen()`
 * binds and starts loading the engine; `/readyz` turns 200 once the engine is loaded (and 503 again
 * while the server is at capacity); `/metrics` is Prometheus text.
 */
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { ERRORS, STREAM_TOKEN_PREFIX, TOKEN_PATH } from "@earshot/protocol";
import { WebSocketServer } from "ws";
import { credentialFromRequest, KeyRing, TOKEN_SUBPROTOCOL } from "./auth.js";
import { Capacity } from "./capacity.js";
import { Connection, type ConnectionContext } from "./connection.js";
import { ConnectionCounts, type CountedConnection } from "./connection-counts.js";
import { HttpGuards } from "./http-guards.js";
import { httpError, json, rejectUpgrade } from "./http-replies.js";
import { silentLogger } from "./logger.js";
import { ServerMetrics } from "./metrics.js";
import { parseRequestTarget } from "./request-target.js";
import { type ListenOptions, resolveSettings, type ServerOptions } from "./server-options.js";
import { type SessionHooks, StreamSession } from "./session.js";
import { SessionRegistry } from "./session-registry.js";
import { serveStatic } from "./static-routes.js";
import { type StreamToken, StreamTokens } from "./stream-tokens.js";
import { handleTokenRequest } from "./token-route.js";

export const STREAM_PATH = "/v1/audio/transcriptions/stream";

export interface EarshotServer extends AsyncDisposable {
  /** Binds, then starts loading the engine (see `ready`). Resolves with the base URL. */
  listen(options?: ListenOptions): Promise<{ url: string; port: number }>;
  /** Resolves when the engine is loaded; rejects with the engine's error. */
  readonly ready: Promise<void>;
  /** Sessions still streaming: connected, or waiting for a resume (not finished ones kept for a late resume). */
  readonly sessionCount: number;
  /** The stream limit in force (`admission.maxStreams`, or the one derived from memory); Infinity for none. */
  readonly maxStreams: number;
  /** Stops accepting, tells open streams to reconnect (1012), closes the engine. Idempotent. */
  close(): Promise<void>;
}

type Authenticated =
  | { readonly ok: true; readonly key: string; readonly token: StreamToken | undefined }
  | { readonly ok: false; readonly code: "unauthorized" | "invalid_token"; readonly why: string };

const TOO_MANY_STREAMS_RETRY_AFTER_S = 5;

export function createServer(options: ServerOptions): EarshotServer {
  const log = options.logger ?? silentLogger();
  const { engine } = options;
  const keys = new KeyRing(options.apiKeys);
  const settings = resolveSettings(options);
  const { limits } = settings;
  const sessions = new SessionRegistry({ ...settings, log });
  const connections = new ConnectionCounts(settings);
  const tokens = new StreamTokens({
    maxUnusedPerKey: settings.maxTokensPerKey,
    isLive: (resumeToken) => sessions.has(resumeToken),
  });
  const capacity = new Capacity({
    engine,
    sessions,
    admission: options.admission,
    cores: options.cores,
    maxStreamsPerKey: settings.maxStreamsPerKey,
    log,
  });

  const metricsOptions = options.metrics ?? {};
  const metricsToken = metricsOptions.bearerToken === undefined ? undefined : new KeyRing([metricsOptions.bearerToken]);
  const metrics = new ServerMetrics(
    {
      connections: () => connections.open,
      activeStreams: () => sessions.liveSessions() - sessions.waitingSessions(),
      waitingSessions: sessions.waitingSessions,
      waitingDecoders: sessions.waitingDecoders,
      heldStreams: sessions.heldStreams,
      unconfiguredConnections: () => connections.unconfigured,
      maxStreams: () => capacity.maxStreams,
      load: capacity.load,
    },
    { processMetrics: metricsOptions.processMetrics ?? true, engineReportsLoad: engine.loadSnapshot !== undefined },
  );

  const sessionHooks: SessionHooks = {
    ...sessions.hooks,
    onReleased: (_session, reason) => metrics.decoderReleased(reason),
    metrics,
  };
  /** `token`: the stream token the connection came in with; it opens one session and resumes only that. */
  const contextFor = (key: string, token: StreamToken | undefined, counted: CountedConnection): ConnectionContext => ({
    log,
    metrics,
    maxFrameBytes: limits.maxFrameBytes,
    pingIntervalMs: settings.pingIntervalMs,
    livenessTimeoutMs: settings.livenessTimeoutMs,
    configTimeoutMs: settings.configTimeoutMs,
    maxOutboundBytes: limits.maxOutboundBytes,
    createSession(connection: Connection): StreamSession | undefined {
      if (token && token.session !== undefined) {
        connection.refuse(
          "invalid_token",
          "This stream token already opened its stream; it can only resume that session.",
        );
        return undefined;
      }
      if (token && Date.now() >= token.expiresAt) {
        connection.refuse("invalid_token", "The stream token expired before it opened a stream; mint a new one.");
        return undefined;
      }
      // Admission is decided here, where a stream starts to cost: the upgrade's check is a quick
      // refusal for a server already full, and a connection that never configures costs nothing.
      const refused = capacity.admitNewSession(key);
      if (refused) {
        log.info({ reason: refused.reason }, "new session refused: over capacity");
        connection.error("over_capacity", refused.message);
        return undefined;
      }
      const session = new StreamSession(connection, engine, limits, log, sessionHooks);
      sessions.add(session, key);
      if (token) tokens.bind(token, session.resumeToken);
      return session;
    },
    onSessionBound(): void {
      counted.bound();
    },
    findSession(resumeToken: string): StreamSession | undefined {
      const found = token === undefined || token.session === resumeToken ? sessions.find(key, resumeToken) : undefined;
      metrics.resume(found ? "resumed" : "not_found");
      return found;
    },
    admitResume(connection: Connection, session: StreamSession): boolean {
      // A session that gave its decoder back needs one again, like a new stream.
      if (!session.released) return true;
      const refused = capacity.admitNewSession(key);
      if (!refused) return true;
      log.info({ reason: refused.reason, session: session.id }, "resume refused: over capacity");
      connection.error("over_capacity", refused.message);
      return false;
    },
  });
  let loadError: Error | undefined;
  let startLoad: () => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    startLoad = () => {
      engine.load().then(
        () => {
          capacity.mainThread.start();
          resolve();
        },
        (error: unknown) => {
          loadError = error instanceof Error ? error : new Error(String(error));
          log.error({ err: loadError }, "engine failed to load");
          reject(loadError);
        },
      );
    };
  });
  ready.catch(() => {}); // surfaced through /readyz, session errors and the CLI

  const wss = new WebSocketServer({
    noServer: true,
    // Our own limit (maxFrameBytes) answers with a frame_too_large message; ws's cap, well above it,
    // bounds what a hostile peer can make us buffer.
    maxPayload: limits.maxFrameBytes * 4,
    handleProtocols: (protocols) => (protocols.has(TOKEN_SUBPROTOCOL) ? TOKEN_SUBPROTOCOL : false),
  });

  // Each entry point answers its own failure on its own socket (http-guards.ts): no request can
  // end the process.
  const guards = new HttpGuards(log);
  const http = createHttpServer(guards.request(handleHttp));
  http.on("clientError", guards.clientError);
  http.on("upgrade", guards.upgrade(handleUpgrade));

  async function handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = parseRequestTarget(request.url);
    if (!target.ok) {
      httpError(response, 400, "bad_request", target.message, { connection: "close" });
      return;
    }
    const path = target.pathname;
    const asset = options.staticRoutes?.get(path);
    if (asset) {
      serveStatic(request, response, asset);
    } else if (path === "/healthz") {
      json(response, 200, { status: "ok" });
    } else if (path === "/readyz") {
      const full = engine.ready ? capacity.refusal("after_release") : undefined;
      const status = full ? "at_capacity" : engine.ready ? "ready" : loadError ? "failed" : "loading";
      json(response, status === "ready" ? 200 : 503, {
        status,
        engine: engine.name,
        ...(loadError ? { error: loadError.message } : {}),
        ...(full ? { reason: full.reason } : {}),
      });
    } else if (path === "/metrics" && metricsOptions.enabled !== false) {
      await serveMetrics(request, response);
    } else if (path === TOKEN_PATH) {
      await handleTokenRequest(request, response, { keys, tokens });
    } else if (path === STREAM_PATH) {
      httpError(response, 426, "invalid_message", "Use a WebSocket upgrade here.");
    } else {
      httpError(response, 404, "not_found", `No route ${path}.`);
    }
  }

  async function serveMetrics(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (metricsToken) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
      if (!metricsToken.accepts(match?.[1])) {
        response.setHeader("WWW-Authenticate", 'Bearer realm="earshot metrics"');
        httpError(response, 401, "unauthorized", "GET /metrics needs Authorization: Bearer <metrics token>.");
        return;
      }
    }
    let text: string;
    try {
      text = await metrics.scrape();
    } catch (error) {
      log.error({ err: error }, "metrics scrape failed");
      httpError(response, 500, "internal_error", "The metrics could not be collected.");
      return;
    }
    response.writeHead(200, { "content-type": metrics.contentType }).end(text);
  }

  /** The key an upgrade acts for: an API key, or the key that minted its stream token. */
  function authenticate(request: IncomingMessage, resumeToken: string | null): Authenticated {
    const credential = credentialFromRequest(request);
    if (keys.accepts(credential)) return { ok: true, key: credential as string, token: undefined };
    if (!credential?.startsWith(STREAM_TOKEN_PREFIX)) {
      return { ok: false, code: "unauthorized", why: ERRORS.unauthorized.summary };
    }
    const checked = tokens.check(credential, resumeToken);
    if (!checked.ok) return { ok: false, code: "invalid_token", why: checked.why };
    return { ok: true, key: checked.token.key, token: checked.token };
  }

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = parseRequestTarget(request.url);
    if (!url.ok) {
      metrics.refused("bad_request");
      rejectUpgrade(socket, 400, "bad_request", url.message);
      return;
    }
    const path = url.pathname;
    if (path !== STREAM_PATH) {
      metrics.refused("not_found");
      rejectUpgrade(socket, 404, "not_found", `No WebSocket endpoint at ${path}.`);
      return;
    }
    const who = authenticate(request, url.searchParams.get("resume_token"));
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
    const resuming = refused !== undefined && sessions.find(key, url.searchParams.get("resume_token")) !== undefined;
    if (refused && !resuming) {
      log.info({ reason: refused.reason }, "upgrade refused: over capacity");
      metrics.refused(refused.reason);
      rejectUpgrade(socket, 503, "over_capacity", refused.message, capacity.retryAfterSeconds);
      return;
    }
    const counted = connections.add(key);
    const context = contextFor(key, token, counted);
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
    wss.handleUpgrade(request, socket, head, (ws) => {
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
  }

  let closing: Promise<void> | undefined;
  const server: EarshotServer = {
    ready,
    get sessionCount() {
      return sessions.liveSessions();
    },
    get maxStreams() {
      return capacity.maxStreams;
    },
    async listen({ host = "127.0.0.1", port = 8787 } = {}) {
      http.listen(port, host);
      await once(http, "listening");
      startLoad();
      const address = http.address() as AddressInfo;
      const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
      return { url: `http://${shownHost}:${address.port}`, port: address.port };
    },
    close() {
      closing ??= (async () => {
        const closed = http.listening ? once(http, "close") : Promise.resolve();
        http.close(); // stop accepting
        capacity.mainThread.stop();
        const flushMs = settings.shutdownFlushMs;
        await Promise.all(sessions.all().map((session) => session.shutdown(flushMs)));
        // Let the close frames go out before the sockets are cut.
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (const client of wss.clients) client.terminate();
        http.closeAllConnections();
        await closed;
        await engine.close();
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}
