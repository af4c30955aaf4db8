/**
 * The HTTP + WebSocket server. `createServer()` builds it (tests drive the object); `listen()`
 * binds and starts loading the engine; `/readyz` turns 200 once the engine is loaded (and 503 again
 * while the server is at capacity); `/metrics` is Prometheus text.
 */
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { TOKEN_PATH } from "@earshot/protocol";
import { KeyRing } from "./auth.js";
import { Capacity } from "./capacity.js";
import { ConnectionCounts } from "./connection-counts.js";
import { HttpGuards } from "./http-guards.js";
import { httpError, json } from "./http-replies.js";
import { silentLogger } from "./logger.js";
import { ServerMetrics } from "./metrics.js";
import { parseRequestTarget } from "./request-target.js";
import { type ListenOptions, resolveSettings, type ServerOptions } from "./server-options.js";
import type { SessionHooks } from "./session.js";
import { SessionRegistry } from "./session-registry.js";
import { serveStatic } from "./static-routes.js";
import { StreamTokens } from "./stream-tokens.js";
import { handleTokenRequest } from "./token-route.js";
import { STREAM_PATH, StreamUpgrades } from "./upgrade.js";

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

export function createServer(options: ServerOptions): EarshotServer {
  const log = options.logger ?? silentLogger();
  const { engine } = options;
  const settings = resolveSettings(options);
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
  const keys = new KeyRing(options.apiKeys);
  const upgrades = new StreamUpgrades({
    engine,
    sessions,
    sessionHooks,
    capacity,
    tokens,
    metrics,
    settings,
    log,
    keys,
    connections,
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

  // Each entry point answers its own failure on its own socket (http-guards.ts): no request can
  // end the process.
  const guards = new HttpGuards(log);
  const http = createHttpServer(guards.request(handleHttp));
  http.on("clientError", guards.clientError);
  http.on("upgrade", guards.upgrade(upgrades.handle));

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
        upgrades.terminateAll();
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
