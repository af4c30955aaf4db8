/**
 * WebSocket upgrades. Other WebSocket surfaces (Twilio media streams, call events) are routes of
 * their own (`UpgradeRoute`), handed the upgrades on their paths. On the stream endpoint: the credential (an API key, or a stream
 * token, in the `Authorization` header or the `token` subprotocol), then the key's connection
 * limits, then a quick capacity check; a connection let in is counted until its socket closes and
 * handed to a `Connection`. In a cluster, a connection that resumes a session another node held
 * (`?resume_token=`, found in the session records) is let in past its key's cluster-wide limit
 * (to resume only), not past this node's capacity. Every refusal is an HTTP error on the raw socket, counted in the metrics.
 * While the node drains, every stream upgrade (a resume too, and the compatibility surfaces' streams)
 * is refused first, with 503 `draining`, so a balancer in front tries another node.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { ERRORS, STREAM_TOKEN_PREFIX } from "@earshot/protocol";
import { WebSocketServer } from "ws";
import { credentialFromRequest, type KeyRing, TOKEN_SUBPROTOCOL } from "./auth.js";
import type { Cluster } from "./cluster/cluster.js";
import { secretDigest } from "./cluster/cluster-keys.js";
import { fullNodeAnswer } from "./cluster/cluster-room.js";
import { Connection } from "./connection.js";
import { connectionContext, type SessionAccess } from "./connection-context.js";
import type { ConnectionCounts, CountedConnection } from "./connection-counts.js";
import { rejectUpgrade } from "./http-replies.js";
import { DRAINING_REFUSAL, DRAINING_RETRY_AFTER_S, type NodeDrain } from "./node-drain.js";
import { parseRequestTarget, type RequestTarget } from "./request-target.js";
import type { SharedTokens } from "./shared-tokens.js";
import type { StreamToken } from "./stream-tokens.js";

export const STREAM_PATH = "/v1/audio/transcriptions/stream";

/** A WebSocket surface beside the stream endpoint: it answers the upgrades on its own paths. */
export interface UpgradeRoute {
  matches(pathname: string): boolean;
  handle(request: IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget & { ok: true }): void;
  /** Cuts its sockets (at shutdown). */
  terminateAll(): void;
  /**
   * While the node drains: "admit" for a route that carries no stream (call events), or the
   * surface's own 503 refusal; by default earshot's 503 `draining` with `Retry-After`.
   */
  readonly whileDraining?: "admit" | ((request: IncomingMessage, socket: Duplex, retryAfterSeconds: number) => void);
}
const TOO_MANY_STREAMS_RETRY_AFTER_S = 5;

export interface UpgradeContext extends SessionAccess {
  readonly keys: KeyRing;
  readonly connections: ConnectionCounts;
  readonly sharedTokens: SharedTokens;
  /** The cluster this node is in (`--redis`); undefined: alone. */
  readonly cluster?: Cluster | undefined;
  readonly drain: NodeDrain;
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
    const { log, metrics, connections } = this.#context;
    const url = parseRequestTarget(request.url);
    if (!url.ok) {
      metrics.refused("bad_request");
      rejectUpgrade(socket, 400, "bad_request", url.message);
      return;
    }
    const path = url.pathname;
    const route = this.#routes.find((candidate) => candidate.matches(path));
    if (
      this.#context.drain.draining &&
      (route !== undefined || path === STREAM_PATH) &&
      route?.whileDraining !== "admit"
    ) {
      log.info({ path }, "upgrade refused: draining");
      metrics.refused("draining");
      if (typeof route?.whileDraining === "function") route.whileDraining(request, socket, DRAINING_RETRY_AFTER_S);
      else rejectUpgrade(socket, 503, "draining", DRAINING_REFUSAL, DRAINING_RETRY_AFTER_S);
      return;
    }
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
    const cluster = this.#context.cluster;
    if (cluster) {
      void this.#clusterStream(cluster, request, socket, head, resumeToken).catch((error: unknown) => {
        log.error({ err: error }, "cluster upgrade failed");
        socket.destroy();
      });
      return;
    }
    const who = this.#authenticate(request, resumeToken);
    if (!this.#authenticated(who, request, socket) || this.#tooMany(who.key, socket)) return;
    this.#open(request, socket, head, resumeToken, who.token, connections.add(who.key), who.key);
  };

  /**
   * The stream endpoint in a cluster: the same checks, with a stream token minted on another node
   * looked up in Redis, the key's streams counted across nodes, and the token's single use claimed
   * in Redis. When Redis does not answer, each step decides node-locally (redis-link.ts).
   */
  async #clusterStream(
    cluster: Cluster,
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    resumeToken: string | null,
  ): Promise<void> {
    const { sharedTokens, connections, settings, metrics } = this.#context;
    const credential = credentialFromRequest(request);
    await sharedTokens.adopt(credential, resumeToken);
    const who = this.#authenticate(request, resumeToken);
    if (!this.#authenticated(who, request, socket) || this.#tooMany(who.key, socket)) return;
    const { key, token } = who;
    // Whether this upgrade is the token's first stream, as checked now: another upgrade may use it
    // while this one waits on Redis.
    const firstUse = token !== undefined && !token.used;
    // Checked before Redis too, so that a full node does not spend a token's single use.
    if (this.#overCapacity(key, resumeToken, socket)) return;
    let counted = published(connections.add(key), () => cluster.keyStreamsChanged(key, connections.connectionsOf(key)));
    const giveBack = (): void => {
      counted.closed(false);
      cluster.keyStreamsChanged(key, connections.connectionsOf(key));
    };
    const admitted = await cluster.admitStream(key, connections.connectionsOf(key), settings.maxStreamsPerKey);
    // A resume of a session another node held is let in even at the key's limit: the stream holds
    // its share already (on the node it leaves, until that node's count drops). It is counted here,
    // and may only resume: a `config` on it is refused as one beyond the limit.
    if (admitted?.ok === false && (await this.#resumesMovedSession(cluster, key, resumeToken))) {
      cluster.keyStreamsChanged(key, connections.connectionsOf(key));
      counted = resumeOnly(
        counted,
        `This key holds its limit of ${settings.maxStreamsPerKey} streams across the cluster; this connection may only resume.`,
      );
    } else if (admitted?.ok === false) {
      giveBack();
      metrics.refused("too_many_streams");
      const why = `This key has ${admitted.elsewhere} open streams on other nodes; the limit is ${settings.maxStreamsPerKey} across the cluster.`;
      rejectUpgrade(socket, 429, "too_many_streams", why, TOO_MANY_STREAMS_RETRY_AFTER_S);
      return;
    }
    // A token's first stream: claimed in Redis, so no other node lets one in with it (and, should
    // Redis be away, no other upgrade here did meanwhile).
    const claimed = firstUse ? await cluster.tokens.claim(credential as string) : undefined;
    if (firstUse && (claimed === "taken" || token?.used === true)) {
      giveBack();
      metrics.refused("invalid_token");
      rejectUpgrade(socket, 401, "invalid_token", "The stream token was already used (on this node or another).");
      return;
    }
    if (socket.destroyed) {
      giveBack();
      return;
    }
    this.#open(request, socket, head, resumeToken, token, counted, key, () =>
      cluster.keyStreamsChanged(key, connections.connectionsOf(key)),
    );
  }

  /** Whether `resumeToken` names a session of `key` that this node does not hold but the cluster's records do. */
  async #resumesMovedSession(cluster: Cluster, key: string, resumeToken: string | null): Promise<boolean> {
    if (resumeToken === null || this.#context.sessions.has(resumeToken)) return false;
    const record = await cluster.sessionRecord(resumeToken);
    return record?.keyDigest === secretDigest(key);
  }

  #authenticated(who: Authenticated, request: IncomingMessage, socket: Duplex): who is Authenticated & { ok: true } {
    if (who.ok) return true;
    this.#context.log.info({ remote: request.socket.remoteAddress }, `upgrade refused: ${who.code}`);
    this.#context.metrics.refused(who.code);
    rejectUpgrade(socket, 401, who.code, who.why);
    return false;
  }

  /** Refuses the upgrade when the key has too many connections on this node. */
  #tooMany(key: string, socket: Duplex): boolean {
    const tooMany = this.#context.connections.refusal(key);
    if (!tooMany) return false;
    this.#context.metrics.refused("too_many_streams");
    rejectUpgrade(socket, 429, "too_many_streams", tooMany, TOO_MANY_STREAMS_RETRY_AFTER_S);
    return true;
  }

  /** Refuses the upgrade (503) when the server is full, unless it resumes a live session of its key. */
  #overCapacity(key: string, resumeToken: string | null, socket: Duplex): boolean {
    const { log, metrics, capacity, sessions } = this.#context;
    // A full server still lets in a connection that names (`?resume_token=`) a live session of its
    // key: that session holds its share of the server already.
    const refused = capacity.refusal("after_release");
    const resuming = refused !== undefined && sessions.find(key, resumeToken) !== undefined;
    if (!refused || resuming) return false;
    log.info({ reason: refused.reason }, "upgrade refused: over capacity");
    metrics.refused(refused.reason);
    const others = this.#context.cluster?.otherNodes();
    const answer = fullNodeAnswer(refused.message, capacity.retryAfterSeconds, others);
    rejectUpgrade(socket, 503, "over_capacity", answer.message, answer.retryAfterSeconds);
    return true;
  }

  /** The capacity check, then the WebSocket handshake; `counted` is given back when the socket closes. */
  #open(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    resumeToken: string | null,
    token: StreamToken | undefined,
    counted: CountedConnection,
    key: string,
    onReleased?: () => void,
  ): void {
    const { log, tokens } = this.#context;
    if (this.#overCapacity(key, resumeToken, socket)) {
      counted.closed(false);
      onReleased?.();
      return;
    }
    const context = connectionContext(this.#context, key, token, counted);
    if (token) tokens.admit(token);
    let upgraded = false;
    let connection: Connection | undefined;
    const release = (): void => {
      if (token) tokens.release(token);
      counted.closed(connection?.bound ?? false);
      onReleased?.();
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
  }

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

/**
 * `counted`, with each change of the streams it holds (a two-channel `config` takes a second) told
 * to `changed`, so the cluster's count of its key follows at once rather than at the next heartbeat.
 * The second stream is checked against the limit on this node only (the `config` is not kept
 * waiting on Redis).
 */
function published(counted: CountedConnection, changed: () => void): CountedConnection {
  return {
    bound: () => counted.bound(),
    holds: (streams, force) => {
      const refused = counted.holds(streams, force);
      if (refused === undefined) changed();
      return refused;
    },
    closed: (bound) => counted.closed(bound),
  };
}

/**
 * `counted` for a connection let in past its key's cluster-wide limit because it resumes a session
 * held elsewhere: a resume takes it over as counted, a new stream (`config`) is refused with `why`.
 */
function resumeOnly(counted: CountedConnection, why: string): CountedConnection {
  return {
    bound: () => counted.bound(),
    holds: (streams, force = false) => (force ? counted.holds(streams, force) : why),
    closed: (bound) => counted.closed(bound),
  };
}
