/**
 * Upgrades at `/v1/listen`, Deepgram's live endpoint, as a thin adapter: the credential (an API key
 * as `Authorization: Token <key>`, or a stream token as `Bearer`, minted on any node of a cluster;
 * browsers send either as the subprotocols `token, <key>` / `bearer, <token>`, and the chosen one
 * is echoed), the query read and checked as a session's config would be, the key's stream limit (on
 * this node and, in a cluster, across nodes: a stream counts one per channel), then one admitted
 * session per channel, all before the handshake, so every refusal is Deepgram's HTTP error answer.
 * The stream then runs in `DeepgramListenStream`.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Engine } from "@earshot/engines";
import { STREAM_TOKEN_PREFIX, type StreamConfig } from "@earshot/protocol";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { KeyRing } from "../../auth.js";
import type { Capacity } from "../../capacity.js";
import type { Cluster } from "../../cluster/cluster.js";
import { fullNodeAnswer } from "../../cluster/cluster-room.js";
import type { KeyStreamLimit } from "../../key-stream-limit.js";
import type { ServerMetrics } from "../../metrics.js";
import { DRAINING_REFUSAL } from "../../node-drain.js";
import type { RequestTarget } from "../../request-target.js";
import type { ServerSettings } from "../../server-options.js";
import { type SessionHooks, StreamSession } from "../../session.js";
import type { SessionRegistry } from "../../session-registry.js";
import type { SharedTokens } from "../../shared-tokens.js";
import { type AudioSource, resolveConfig } from "../../stream-config.js";
import type { StreamToken, StreamTokens } from "../../stream-tokens.js";
import type { UpgradeRoute } from "../../upgrade.js";
import type { ListenChannel } from "./listen-channel.js";
import { DEEPGRAM_UPGRADE_ERRORS, DeepgramUpgradeError, rejectListenUpgrade } from "./listen-errors.js";
import { listenIdentity } from "./listen-messages.js";
import { DeepgramMetrics } from "./listen-metrics.js";
import { type ListenQuery, parseListenQuery } from "./listen-query.js";
import { DEFAULT_IDLE_TIMEOUT_MS, DeepgramListenStream } from "./listen-stream.js";

export const LISTEN_PATH = "/v1/listen";
const TOO_MANY_STREAMS_RETRY_AFTER_S = 5;
/** Ignored parameters named in the 101 answer's header, at most. */
const MAX_IGNORED_NAMED = 20;
/** The subprotocols browsers authenticate with; the one offered is echoed. */
const CREDENTIAL_SUBPROTOCOLS = ["token", "bearer"];

export interface ListenUpgradeContext {
  readonly log: Logger;
  readonly engine: Engine;
  readonly settings: ServerSettings;
  readonly keys: KeyRing;
  readonly tokens: StreamTokens;
  readonly sessions: SessionRegistry;
  readonly sessionHooks: SessionHooks;
  readonly capacity: Capacity;
  readonly keyStreamLimit: KeyStreamLimit;
  readonly sharedTokens: SharedTokens;
  /** The cluster this node is in (`--redis`), for what a refusal says of the other nodes; undefined: alone. */
  readonly cluster?: Cluster | undefined;
  readonly metrics: ServerMetrics;
}

interface Caller {
  readonly key: string;
  readonly token: StreamToken | undefined;
}

/** What the 101 answer says: the request id, and the parameters taken but not acted on. */
interface Handshake {
  readonly requestId: string;
  readonly ignored: readonly string[];
}

export class DeepgramUpgrades implements UpgradeRoute {
  readonly #context: ListenUpgradeContext;
  readonly #metrics: DeepgramMetrics;
  readonly #wss: WebSocketServer;
  readonly #handshakes = new WeakMap<IncomingMessage, Handshake>();

  constructor(context: ListenUpgradeContext) {
    this.#context = context;
    this.#metrics = new DeepgramMetrics(context.metrics.registry);
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: context.settings.limits.maxFrameBytes * 4,
      handleProtocols: (offered) => CREDENTIAL_SUBPROTOCOLS.find((protocol) => offered.has(protocol)) ?? false,
    });
    this.#wss.on("headers", (headers, request) => {
      const handshake = this.#handshakes.get(request);
      if (!handshake) return;
      headers.push(`dg-request-id: ${handshake.requestId}`);
      if (handshake.ignored.length > 0) headers.push(`x-earshot-ignored-params: ${ignoredHeader(handshake.ignored)}`);
    });
  }

  matches(pathname: string): boolean {
    return pathname === LISTEN_PATH;
  }

  /** A draining node refuses in Deepgram's words (503, as when full), so a balancer tries another. */
  readonly whileDraining = (_request: IncomingMessage, socket: Duplex, retryAfterSeconds: number): void => {
    const error = new DeepgramUpgradeError("over_capacity", DRAINING_REFUSAL, { retryAfterSeconds });
    rejectListenUpgrade(socket, error, randomUUID());
  };

  terminateAll(): void {
    for (const client of this.#wss.clients) client.terminate();
  }

  handle(request: IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget & { ok: true }): void {
    const requestId = randomUUID();
    const log = this.#context.log.child({ request_id: requestId });
    this.#upgrade(request, socket, head, target, requestId, log).catch((error: unknown) => {
      if (!(error instanceof DeepgramUpgradeError)) {
        log.error({ err: error }, "deepgram upgrade failed");
        socket.destroy();
        return;
      }
      log.info(
        { remote: request.socket.remoteAddress, code: error.code },
        `deepgram upgrade refused: ${error.message}`,
      );
      this.#metrics.refused(error.code);
      rejectListenUpgrade(socket, error, requestId);
    });
  }

  /** Rejects with a `DeepgramUpgradeError` to answer. */
  async #upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: RequestTarget & { ok: true },
    requestId: string,
    log: Logger,
  ): Promise<void> {
    const { engine, capacity, keyStreamLimit, sharedTokens, tokens, settings, cluster } = this.#context;
    const bandExtension = settings.streamDefaults.bandExtensionDb;
    const credential = listenCredential(request);
    await sharedTokens.adopt(credential);
    const caller = this.#authenticate(credential);
    const query = parseListenQuery(target.searchParams, engine.capabilities.models);
    if (!engine.ready) throw new DeepgramUpgradeError("engine_unavailable", "The speech engine is not loaded yet.");
    const stream = new DeepgramListenStream({
      log,
      query,
      identity: listenIdentity(requestId, query.model),
      bandExtensionDb: bandExtension === "off" ? undefined : bandExtension,
      idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      maxOutboundBytes: settings.limits.maxOutboundBytes,
      ended: (result, audioMs) => this.#metrics.ended(result, audioMs),
    });
    const config = this.#checkedConfig(query, stream.sessionEncoding);
    // 8 kHz linear16 is upsampled and band-extended here (listen-audio.ts), then sent on as 16 kHz
    // PCM: the engine decodes it as earshot's own 8 kHz encodings (the telephone model).
    const telephone = query.encoding === "linear16" && query.sampleRate === 8000 && bandExtension !== "off";
    // Each channel is a stream of the key, as a two-channel stream of earshot's protocol is.
    const counted = await keyStreamLimit.count(caller.key, stream.channelCount);
    if (!counted.ok) {
      throw new DeepgramUpgradeError("too_many_streams", counted.why, {
        retryAfterSeconds: TOO_MANY_STREAMS_RETRY_AFTER_S,
      });
    }
    if (socket.destroyed) {
      counted.release();
      return;
    }
    const overCapacity = (message: string) => {
      const answer = fullNodeAnswer(message, capacity.retryAfterSeconds, cluster?.otherNodes());
      return new DeepgramUpgradeError("over_capacity", answer.message, { retryAfterSeconds: answer.retryAfterSeconds });
    };
    // Before the token's single use is spent: a full node does not spend it.
    const refused = capacity.refusal("after_release");
    if (refused) {
      counted.release();
      throw overCapacity(refused.message);
    }
    // Another stream, here or on another node, may have used the stream token meanwhile.
    const token = caller.token;
    if (token && !(await sharedTokens.use(credential as string, token))) {
      counted.release();
      throw new DeepgramUpgradeError("invalid_auth", "Invalid credentials.");
    }
    const release = tokens.connectionRelease(token, counted.release);
    if (socket.destroyed) {
      release();
      return;
    }
    let refusal: string | undefined;
    const opened = stream.openSessions((channel) => {
      const session = this.#openSession(channel, caller.key, config, { telephone });
      if (typeof session === "string") refusal = session;
      return typeof session === "string" ? undefined : session;
    });
    if (!opened) {
      release();
      throw overCapacity(refusal ?? "No engine stream for this stream now.");
    }
    let upgraded = false;
    // A handshake that fails (ws answers 400 and never calls back) ends the sessions it opened.
    socket.once("close", () => {
      if (upgraded) return;
      stream.abort();
      release();
    });
    this.#handshakes.set(request, { requestId, ignored: query.ignored });
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      upgraded = true;
      ws.once("close", release);
      stream.attach(ws);
      log.info(
        { remote: request.socket.remoteAddress, channels: query.channels, multichannel: query.multichannel },
        "deepgram stream connected",
      );
    });
  }

  /** The key an upgrade acts for: an API key, or the key that minted its stream token. */
  #authenticate(credential: string | undefined): Caller {
    const { keys, tokens } = this.#context;
    if (keys.accepts(credential)) return { key: credential as string, token: undefined };
    if (credential?.startsWith(STREAM_TOKEN_PREFIX)) {
      const checked = tokens.check(credential, null);
      if (checked.ok) return { key: checked.token.key, token: checked.token };
    }
    // Deepgram's own words: a client may match on them.
    throw new DeepgramUpgradeError("invalid_auth", "Invalid credentials.");
  }

  /** Each channel's session config, checked now as the session would check it. */
  #checkedConfig(query: ListenQuery, encoding: StreamConfig["encoding"]): StreamConfig {
    const config: StreamConfig = { ...query.config, encoding };
    const resolved = resolveConfig(config, this.#context.engine, this.#context.settings.streamDefaults);
    if (resolved.ok) return config;
    const code = Object.hasOwn(DEEPGRAM_UPGRADE_ERRORS, resolved.code) ? resolved.code : "engine_unavailable";
    throw new DeepgramUpgradeError(code as keyof typeof DEEPGRAM_UPGRADE_ERRORS, resolved.message);
  }

  /** A channel's stream session, admitted as a client's stream of `key` would be; or why not. */
  #openSession(channel: ListenChannel, key: string, config: StreamConfig, source: AudioSource): StreamSession | string {
    const { capacity, engine, settings, log, sessions, sessionHooks } = this.#context;
    const refused = capacity.admitNewSession(key);
    if (refused) return refused.message;
    const session = new StreamSession(channel, engine, settings.limits, log, sessionHooks, settings.streamDefaults);
    sessions.add(session, key);
    return session.configure(config, source) ? session : "The engine could not open a stream.";
  }
}

/**
 * The ignored parameters' names as a header value: URL-encoded (a name may hold any character,
 * CR and LF included, and must not split the answer), at most `MAX_IGNORED_NAMED` of them.
 */
function ignoredHeader(names: readonly string[]): string {
  const shown = names.slice(0, MAX_IGNORED_NAMED).map((name) => encodeURIComponent(name.slice(0, 64)));
  return names.length > MAX_IGNORED_NAMED ? `${shown.join(", ")}, ...` : shown.join(", ");
}

/** The credential of a Deepgram client: `Authorization: Token|Bearer <x>`, or a subprotocol pair. */
function listenCredential(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (header) return /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(header)?.[1];
  const protocols = (request.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const index = protocols.findIndex((protocol) => CREDENTIAL_SUBPROTOCOLS.includes(protocol.toLowerCase()));
  return index >= 0 ? protocols[index + 1] : undefined;
}
