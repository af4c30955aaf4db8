/**
 * Upgrades at `/v3/ws`, AssemblyAI's streaming endpoint. As AssemblyAI does, every upgrade is
 * taken and the credential checked after it, so a refusal is an `Error` frame and a close the SDK
 * reports (1008), not an HTTP status it would not show. The credential is an API key in
 * `Authorization` (raw, as AssemblyAI's SDKs send it, or `Bearer`), or a temporary token in the
 * `token` parameter (an earshot stream token from `GET /v3/token`: used up by its stream). Then the
 * key's stream limit (on this node and, in a cluster, across nodes), the query parameters
 * (aai-params.ts), and admission of a new stream, as for a client of earshot's own protocol; the
 * stream then runs in an `AaiStream`. One refusal comes first, as an HTTP 503: a full node of a
 * cluster whose other nodes have room, so that HAProxy retries the upgrade on one of them.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Engine } from "@earshot/engines";
import { STREAM_TOKEN_PREFIX } from "@earshot/protocol";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { KeyRing } from "../../auth.js";
import type { Capacity } from "../../capacity.js";
import type { Cluster } from "../../cluster/cluster.js";
import { passOnWhileFull } from "../../cluster/cluster-room.js";
import { rejectUpgrade } from "../../http-replies.js";
import type { KeyStreamLimit } from "../../key-stream-limit.js";
import type { ServerMetrics } from "../../metrics.js";
import type { RequestTarget } from "../../request-target.js";
import type { ServerSettings } from "../../server-options.js";
import { type SessionHooks, StreamSession } from "../../session.js";
import type { SessionRegistry } from "../../session-registry.js";
import type { SessionConnection } from "../../session-types.js";
import type { StreamToken, StreamTokens } from "../../stream-tokens.js";
import type { UpgradeRoute } from "../../upgrade.js";
import { MAX_FRAME_MS } from "./aai-audio.js";
import type { AaiMetrics } from "./aai-metrics.js";
import { MAX_SAMPLE_RATE, readAaiParams } from "./aai-params.js";
import type { AaiSessionLimits } from "./aai-session-limits.js";
import type { AaiCredential, AaiSetup, AaiStreamContext, OpenedSession } from "./aai-setup.js";
import { AaiStream } from "./aai-stream.js";

export const AAI_STREAM_PATH = "/v3/ws";
/** The header of the 101 answer that names the parameters taken without acting on them. */
export const IGNORED_PARAMS_HEADER = "x-earshot-ignored-params";
/** ws's own cap: a frame of the longest audio AssemblyAI allows at the highest rate, with room to spare. */
const MAX_PAYLOAD_BYTES = 4 * ((MAX_SAMPLE_RATE * 2 * MAX_FRAME_MS) / 1000);

export interface AaiUpgradeContext {
  readonly log: Logger;
  readonly engine: Engine;
  readonly settings: ServerSettings;
  readonly keys: KeyRing;
  readonly tokens: StreamTokens;
  readonly keyStreamLimit: KeyStreamLimit;
  readonly capacity: Capacity;
  /** The cluster this node is in (`--redis`); undefined: alone. */
  readonly cluster?: Cluster | undefined;
  readonly sessions: SessionRegistry;
  readonly sessionHooks: SessionHooks;
  readonly metrics: ServerMetrics;
  readonly aaiMetrics: AaiMetrics;
  readonly sessionLimits: AaiSessionLimits;
}

type Checked = { readonly ok: true; readonly credential: AaiCredential } | Extract<AaiSetup, { ok: false }>;

export class AaiUpgrades implements UpgradeRoute {
  readonly #context: AaiUpgradeContext;
  readonly #wss: WebSocketServer;
  /** Each upgrade's setup, from its request to its 101 answer's headers and its stream. */
  readonly #setups = new WeakMap<IncomingMessage, AaiSetup>();

  constructor(context: AaiUpgradeContext) {
    this.#context = context;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES });
    this.#wss.on("headers", (headers, request) => {
      const setup = this.#setups.get(request);
      if (setup?.ok && setup.params.ignored.length > 0) {
        // Names come decoded from the query: encoded again, none can break the header (CR, LF, …).
        const names = setup.params.ignored.map((name) => encodeURIComponent(name.slice(0, 64)));
        headers.push(`${IGNORED_PARAMS_HEADER}: ${names.join(", ").slice(0, 1024)}`);
      }
    });
  }

  matches(pathname: string): boolean {
    return pathname === AAI_STREAM_PATH;
  }

  terminateAll(): void {
    for (const client of this.#wss.clients) client.terminate();
  }

  handle(request: IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget & { ok: true }): void {
    const { capacity, cluster, metrics } = this.#context;
    const passOn = passOnWhileFull(capacity, cluster?.otherNodes());
    if (passOn) {
      metrics.refused(passOn.reason);
      rejectUpgrade(socket, 503, "over_capacity", passOn.message, passOn.retryAfterSeconds);
      return;
    }
    this.#setup(request, target.searchParams).then(
      (setup) => this.#upgrade(request, socket, head, setup),
      (error: unknown) => {
        this.#context.log.error({ err: error }, "assemblyai upgrade failed");
        socket.destroy();
      },
    );
  }

  /** The handshake, with the setup decided; a refused setup is told on the open socket (`AaiStream`). */
  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, setup: AaiSetup): void {
    if (socket.destroyed) {
      if (setup.ok) setup.credential.release();
      return;
    }
    this.#setups.set(request, setup);
    let upgraded = false;
    // A handshake that fails (ws answers 400 and never calls back) still gives its counts back.
    socket.once("close", () => {
      if (!upgraded && setup.ok) setup.credential.release();
    });
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      upgraded = true;
      new AaiStream(ws, this.#streamContext(), setup);
    });
  }

  async #setup(request: IncomingMessage, query: URLSearchParams): Promise<AaiSetup> {
    const token = query.get("token");
    const checked = await (token === null ? this.#byKey(request) : this.#byToken(token));
    if (!checked.ok) return checked;
    const params = readAaiParams(query);
    if (!params.ok) {
      checked.credential.release();
      return { ok: false, code: "invalid_parameter", why: params.why };
    }
    return { ok: true, credential: checked.credential, params: params.params };
  }

  async #byKey(request: IncomingMessage): Promise<Checked> {
    const key = apiKeyFromHeader(request.headers.authorization);
    if (key === undefined) return { ok: false, code: "unauthorized", why: "Missing Authorization header" };
    if (!this.#context.keys.accepts(key)) return { ok: false, code: "unauthorized", why: "Invalid API key" };
    return this.#counted(key, "api_key", undefined, undefined);
  }

  async #byToken(token: string): Promise<Checked> {
    const { tokens } = this.#context;
    const checked = token.startsWith(STREAM_TOKEN_PREFIX) ? tokens.check(token, null) : undefined;
    if (!checked?.ok) {
      return { ok: false, code: "unauthorized", why: checked?.why ?? "Invalid temporary token" };
    }
    const streamToken = checked.token;
    const maxSessionMs = this.#context.sessionLimits.maxSessionMs(streamToken);
    return this.#counted(streamToken.key, "token", maxSessionMs, streamToken);
  }

  /**
   * Counts a connection of `key` (with its session from the start), on this node and across the
   * cluster, or says why it has too many; a stream token is used up once counted.
   */
  async #counted(
    key: string,
    by: AaiCredential["by"],
    maxSessionMs: number | undefined,
    token: StreamToken | undefined,
  ): Promise<Checked> {
    const { keyStreamLimit, tokens } = this.#context;
    const counted = await keyStreamLimit.count(key, 1);
    if (!counted.ok) return { ok: false, code: "too_many_sessions", why: counted.why };
    if (token) {
      // Another upgrade may have used the token while this one was being counted.
      if (token.used) {
        counted.release();
        return { ok: false, code: "unauthorized", why: "The temporary token was already used" };
      }
      tokens.admit(token);
    }
    const release = tokens.connectionRelease(token, counted.release);
    return { ok: true, credential: { key, by, maxSessionMs, release } };
  }

  #streamContext(): AaiStreamContext {
    const { log, settings, metrics, aaiMetrics } = this.#context;
    return {
      log,
      metrics: aaiMetrics,
      pingIntervalMs: settings.pingIntervalMs,
      livenessTimeoutMs: settings.livenessTimeoutMs,
      maxOutboundBytes: settings.limits.maxOutboundBytes,
      maxSessionMs: settings.limits.maxSessionMs,
      peerDropped: (reason) => metrics.peerDropped(reason),
      openSession: (connection, key, maxSessionMs) => this.#openSession(connection, key, maxSessionMs),
    };
  }

  /** A session admitted and counted as a client's stream of `key` would be. */
  #openSession(connection: SessionConnection, key: string, maxSessionMs: number): OpenedSession {
    const { capacity, engine, settings, log, sessions, sessionHooks } = this.#context;
    const refused = capacity.admitNewSession(key);
    if (refused) {
      log.info({ reason: refused.reason }, "assemblyai stream refused: over capacity");
      return { ok: false, code: "too_many_sessions", why: refused.message };
    }
    const limits = { ...settings.limits, maxSessionMs };
    const session = new StreamSession(connection, engine, limits, log, sessionHooks, settings.streamDefaults);
    sessions.add(session, key);
    return { ok: true, session };
  }
}

/** AssemblyAI's SDKs send the key as it is (`Authorization: <key>`); `Bearer <key>` is taken too. */
export function apiKeyFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:(?:Bearer|Token)\s+)?(\S+)\s*$/i.exec(header.trim());
  return match?.[1];
}
