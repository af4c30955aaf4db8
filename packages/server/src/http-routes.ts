/**
 * The plain HTTP routes: the static files, `/healthz`, `/readyz` (200 once the engine is loaded,
 * 503 again while the server is at capacity), `/metrics` (Prometheus text, optionally behind a
 * bearer token), `POST /v1/auth/token`, OpenAI's `POST /v1/audio/transcriptions` (compat/openai/),
 * AssemblyAI's `GET /v3/token` (compat/assemblyai/), the admin routes (admin-route.ts); the stream
 * endpoints answer 426 without an upgrade. A draining node answers `/readyz` 503 `draining`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine } from "@earshot/engines";
import { TOKEN_PATH } from "@earshot/protocol";
import type { Logger } from "pino";
import { ADMIN_DRAIN_PATH, type AdminRouteContext, handleAdminDrain } from "./admin-route.js";
import { KeyRing } from "./auth.js";
import type { Capacity } from "./capacity.js";
import type { Cluster } from "./cluster/cluster.js";
import { AAI_TOKEN_PATH } from "./compat/assemblyai/aai-token-route.js";
import { AAI_STREAM_PATH } from "./compat/assemblyai/aai-upgrade.js";
import type { AssemblyAi } from "./compat/assemblyai/assemblyai.js";
import { OpenAiMetrics } from "./compat/openai/openai-metrics.js";
import { handleTranscriptions, TRANSCRIPTIONS_PATH } from "./compat/openai/transcriptions-route.js";
import type { ConnectionCounts } from "./connection-counts.js";
import type { EngineLoading } from "./engine-loading.js";
import { httpError, json } from "./http-replies.js";
import type { KeyStreamLimit } from "./key-stream-limit.js";
import type { ServerMetrics } from "./metrics.js";
import { parseRequestTarget } from "./request-target.js";
import type { FileDecoder, MetricsOptions } from "./server-options.js";
import { type StaticRoutes, serveStatic } from "./static-routes.js";
import type { StreamTokens } from "./stream-tokens.js";
import { handleTokenRequest } from "./token-route.js";
import { STREAM_PATH } from "./upgrade.js";

export interface HttpRoutesContext extends AdminRouteContext {
  readonly engine: Engine;
  readonly loading: EngineLoading;
  readonly capacity: Capacity;
  readonly connections: ConnectionCounts;
  readonly keyStreamLimit: KeyStreamLimit;
  readonly metrics: ServerMetrics;
  readonly assemblyAi: AssemblyAi;
  readonly metricsOptions: MetricsOptions;
  readonly keys: KeyRing;
  readonly tokens: StreamTokens;
  readonly cluster?: Cluster | undefined;
  readonly staticRoutes: StaticRoutes | undefined;
  readonly fileDecoder: FileDecoder | undefined;
  readonly maxUploadBytes: number;
  readonly log: Logger;
}

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** The request handler; it resolves once answered and rejects only on a bug (the request guard answers 500). */
export function httpRoutes(context: HttpRoutesContext): RequestHandler {
  const { engine, loading, capacity, metricsOptions, keys, tokens, cluster, drain } = context;
  const serveMetrics = metricsRoute(context);
  const transcriptions = { ...context, metrics: new OpenAiMetrics(context.metrics.registry) };
  return async (request, response) => {
    const target = parseRequestTarget(request.url);
    if (!target.ok) {
      httpError(response, 400, "bad_request", target.message, { connection: "close" });
      return;
    }
    const path = target.pathname;
    const asset = context.staticRoutes?.get(path);
    if (asset) {
      serveStatic(request, response, asset);
    } else if (path === "/healthz") {
      json(response, 200, { status: "ok" });
    } else if (path === "/readyz" && drain.draining) {
      json(response, 503, { status: "draining", engine: engine.name, reason: "draining" });
    } else if (path === "/readyz") {
      const full = engine.ready ? capacity.refusal("after_release") : undefined;
      const loadError = loading.error;
      const status = full ? "at_capacity" : engine.ready ? "ready" : loadError ? "failed" : "loading";
      json(response, status === "ready" ? 200 : 503, {
        status,
        engine: engine.name,
        ...(loadError ? { error: loadError.message } : {}),
        ...(full ? { reason: full.reason } : {}),
      });
    } else if (path === "/metrics" && metricsOptions.enabled !== false) {
      await serveMetrics(request, response);
    } else if (path === ADMIN_DRAIN_PATH) {
      handleAdminDrain(request, response, context);
    } else if (path === TOKEN_PATH) {
      await handleTokenRequest(request, response, { keys, tokens, cluster });
    } else if (path === TRANSCRIPTIONS_PATH) {
      // A file being decoded when the node drains is let finish (up to the drain's bound).
      await drain.whileRequest(() => handleTranscriptions(request, response, transcriptions));
    } else if (path === AAI_TOKEN_PATH) {
      context.assemblyAi.handleToken(request, response, target.searchParams);
    } else if (path === STREAM_PATH || path === AAI_STREAM_PATH) {
      httpError(response, 426, "invalid_message", "Use a WebSocket upgrade here.");
    } else {
      httpError(response, 404, "not_found", `No route ${path}.`);
    }
  };
}

function metricsRoute({ metrics, metricsOptions, log }: HttpRoutesContext): RequestHandler {
  const metricsToken = metricsOptions.bearerToken === undefined ? undefined : new KeyRing([metricsOptions.bearerToken]);
  return async (request, response) => {
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
  };
}
