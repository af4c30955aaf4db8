/**
 * The HTTP + WebSocket server. `createServer()` builds it (tests drive the object); `listen()`
 * binds and starts loading the engine. It composes the parts, each in its own file: the session
 * registry, capacity (admission), the HTTP routes, the WebSocket upgrades, the drain and shutdown.
 */
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { assertServableEngine, type Engine } from "@earshot/engines";
import type { CheckpointMessage } from "@earshot/protocol";
import type { Logger } from "pino";
import { KeyRing } from "./auth.js";
import { Capacity } from "./capacity.js";
import { Cluster } from "./cluster/cluster.js";
import { AssemblyAi } from "./compat/assemblyai/assemblyai.js";
import { DeepgramUpgrades } from "./compat/deepgram/listen-upgrade.js";
import { MAX_FILE_BYTES } from "./compat/openai/transcriptions-route.js";
import { ConnectionCounts } from "./connection-counts.js";
import { EngineLoading } from "./engine-loading.js";
import { HttpGuards } from "./http-guards.js";
import { httpRoutes } from "./http-routes.js";
import { KeyStreamLimit } from "./key-stream-limit.js";
import { silentLogger } from "./logger.js";
import { ServerMetrics } from "./metrics.js";
import { NodeDrain } from "./node-drain.js";
import {
  type ListenOptions,
  type MetricsOptions,
  resolveSettings,
  type ServerOptions,
  type ServerSettings,
} from "./server-options.js";
import type { SessionHooks, StreamSession } from "./session.js";
import { SessionRegistry } from "./session-registry.js";
import { SharedTokens } from "./shared-tokens.js";
import { shutdown } from "./shutdown.js";
import { StreamTokens } from "./stream-tokens.js";
import { phoneCalls } from "./twilio/phone-calls.js";
import { StreamUpgrades } from "./upgrade.js";

export interface EarshotServer extends AsyncDisposable {
  /** Binds, then starts loading the engine (see `ready`). Resolves with the base URL. */
  listen(options?: ListenOptions): Promise<{ url: string; port: number }>;
  /** Resolves when the engine is loaded; rejects with the engine's error. */
  readonly ready: Promise<void>;
  /** Sessions still streaming: connected, or waiting for a resume (not finished ones kept for a late resume). */
  readonly sessionCount: number;
  /** The stream limit in force (`admission.maxStreams`, or the one derived from memory); Infinity for none. */
  readonly maxStreams: number;
  /**
   * Drains the node (node-drain.ts): `/readyz` 503, new streams and resumes refused, each stream
   * moved to another node at its next utterance end. Resolves once no stream is left; then close().
   */
  drain(): Promise<void>;
  /** Resolves once a drain is over, whatever started it (`drain()` or the admin call). */
  readonly drained: Promise<void>;
  /** Stops accepting, tells open streams to reconnect (1012), closes the engine. Idempotent. */
  close(): Promise<void>;
}

export function createServer(options: ServerOptions): EarshotServer {
  const log = options.logger ?? silentLogger();
  const { engine } = options;
  assertServableEngine(engine);
  const settings = resolveSettings(options);
  const sessions = new SessionRegistry({ ...settings, log });
  const connections = new ConnectionCounts(settings);
  const tokens = new StreamTokens({
    maxUnusedPerKey: settings.maxTokensPerKey,
    isLive: (resumeToken) => sessions.has(resumeToken),
  });
  const { admission, cores } = options;
  const capacity = new Capacity({
    engine,
    sessions,
    admission,
    cores,
    maxStreamsPerKey: settings.maxStreamsPerKey,
    draining: () => drain.draining,
    log,
  });
  const metricsOptions = options.metrics ?? {};
  const metrics = serverMetrics(engine, metricsOptions, sessions, connections, capacity);
  const cluster = joinCluster(options, settings, { sessions, connections, capacity }, log);
  cluster?.defineMetrics(metrics.registry);
  const drain = new NodeDrain({ sessions, cluster, log, timeoutMs: settings.drainTimeoutMs });
  drain.defineMetrics(metrics.registry);
  const sessionHooks: SessionHooks = {
    ...sessions.hooks,
    onReleased: (_session, reason) => metrics.decoderReleased(reason),
    ...(cluster === undefined
      ? {}
      : { onProgress: (session, checkpoint) => recordProgress(cluster, sessions, session, checkpoint) }),
    metrics,
  };
  const keys = new KeyRing(options.apiKeys);
  const keyStreamLimit = new KeyStreamLimit(connections, cluster, settings.maxStreamsPerKey);
  const sharedTokens = new SharedTokens(tokens, keys, cluster);
  const parts = {
    log,
    engine,
    settings,
    keys,
    sessions,
    sessionHooks,
    connections,
    keyStreamLimit,
    sharedTokens,
    tokens,
    capacity,
    metrics,
    cluster,
    drain,
  };
  const loading = new EngineLoading(engine, log, () => capacity.mainThread.start());
  const phone = phoneCalls(parts, options.twilio);
  const assemblyAi = new AssemblyAi(parts);
  const upgrades = new StreamUpgrades(parts, [...phone.routes, assemblyAi.route, new DeepgramUpgrades(parts)]);
  const routes = httpRoutes({
    ...parts,
    assemblyAi,
    loading,
    metricsOptions,
    staticRoutes: options.staticRoutes,
    fileDecoder: options.fileDecoder,
    maxUploadBytes: options.maxUploadBytes ?? MAX_FILE_BYTES,
    adminKeys: options.adminKey ? new KeyRing([options.adminKey]) : undefined,
    sessionCount: () => sessions.all().length,
  });
  // Each entry point answers its own failure on its own socket (http-guards.ts): no request can
  // end the process.
  const guards = new HttpGuards(log);
  const http = createHttpServer(guards.request(routes));
  http.on("clientError", guards.clientError);
  http.on("upgrade", guards.upgrade(upgrades.handle));

  let closing: Promise<void> | undefined;
  const server: EarshotServer = {
    ready: loading.ready,
    get sessionCount() {
      return sessions.liveSessions();
    },
    get maxStreams() {
      return capacity.maxStreams;
    },
    drained: drain.drained,
    drain() {
      return drain.start("signal");
    },
    async listen({ host = "127.0.0.1", port = 8787 } = {}) {
      http.listen(port, host);
      await once(http, "listening");
      loading.start();
      cluster?.start();
      const address = http.address() as AddressInfo;
      const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
      return { url: `http://${shownHost}:${address.port}`, port: address.port };
    },
    close() {
      const mainThread = capacity.mainThread;
      closing ??= shutdown({ http, upgrades, sessions, mainThread, engine, flushMs: settings.shutdownFlushMs }).finally(
        async () => {
          phone.close();
          await cluster?.close();
        },
      );
      return closing;
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

/** The server's membership in a cluster (`options.cluster`), or undefined: the node runs alone. */
function joinCluster(
  options: ServerOptions,
  settings: ServerSettings,
  parts: { sessions: SessionRegistry; connections: ConnectionCounts; capacity: Capacity },
  log: Logger,
): Cluster | undefined {
  if (options.cluster === undefined) return undefined;
  const { sessions, connections, capacity } = parts;
  const state = {
    load: () => ({
      activeStreams: sessions.liveSessions() - sessions.waitingSessions(),
      capacity: capacity.maxStreams,
      refusing: !options.engine.ready || capacity.refusal("after_release") !== undefined,
    }),
    streamsPerKey: () => connections.perKey(),
    liveSessions: () => sessions.all().map((session) => session.resumeToken),
    sessionsMoved: (resumeTokens: readonly string[]) => {
      for (const resumeToken of resumeTokens) {
        const session = sessions.find(sessions.keyOf(resumeToken) ?? "", resumeToken);
        if (!session) continue;
        log.info({ session: session.id }, "session taken over by another node; ending it here");
        session.takenOver();
      }
    },
  };
  return new Cluster(options.cluster, log, state, options.apiKeys, settings.limits.resumeGraceMs);
}

/** Writes a session's progress (and the checkpoint it just sent, if any) to its cluster record. */
function recordProgress(
  cluster: Cluster,
  sessions: SessionRegistry,
  session: StreamSession,
  checkpoint: CheckpointMessage | undefined,
): void {
  const progress = session.progress;
  const key = sessions.keyOf(session.resumeToken);
  if (progress === undefined || key === undefined) return;
  cluster.sessionProgress({
    resumeToken: session.resumeToken,
    sessionId: session.id,
    key,
    ...progress,
    ...(checkpoint === undefined
      ? {}
      : {
          checkpoint: {
            sample: checkpoint.sample,
            state: checkpoint.state,
            last_segment_id: checkpoint.last_segment_id,
          },
        }),
  });
}

/** The metrics, reading the server's counts when scraped. */
function serverMetrics(
  engine: Engine,
  options: MetricsOptions,
  sessions: SessionRegistry,
  connections: ConnectionCounts,
  capacity: Capacity,
): ServerMetrics {
  return new ServerMetrics(
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
    {
      processMetrics: options.processMetrics ?? true,
      engineReportsLoad: engine.loadSnapshot !== undefined,
      engineLendsDecoders: engine.loadSnapshot?.().decoders !== undefined,
    },
  );
}
