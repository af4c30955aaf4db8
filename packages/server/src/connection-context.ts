/**
 * What a connection let in for an API key may do with sessions (its `ConnectionContext`): open a
 * new one, when admission lets it and its stream token (if it came with one) has not opened one
 * yet; or resume a live one of its key (with a stream token: only the session that token opened).
 */
import type { Engine } from "@earshot/engines";
import type { ErrorCode, ResumeMessage, StreamConfig } from "@earshot/protocol";
import type { Logger } from "pino";
import type { Capacity } from "./capacity.js";
import { TwoChannelSession } from "./channels/two-channel-session.js";
import type { ClientSession } from "./client-session.js";
import type { Cluster } from "./cluster/cluster.js";
import { takeOverSession } from "./cluster/session-takeover.js";
import type { CountedConnection } from "./connection-counts.js";
import type { ServerMetrics } from "./metrics.js";
import { DRAINING_REFUSAL } from "./node-drain.js";
import type { LivenessTiming } from "./peer-liveness.js";
import type { ServerSettings } from "./server-options.js";
import { type SessionHooks, StreamSession } from "./session.js";
import type { SessionIdentity } from "./session-identity.js";
import type { SessionRegistry } from "./session-registry.js";
import type { SessionConnection } from "./session-types.js";
import type { StreamToken, StreamTokens } from "./stream-tokens.js";

/** What a `Connection` is given: its limits and timing, the metrics it reports, and what it may do with sessions. */
export interface ConnectionContext extends LivenessTiming {
  readonly log: Logger;
  readonly maxFrameBytes: number;
  /** A connection without a session this long after it opened is closed with `config_timeout`. */
  readonly configTimeoutMs: number;
  /** Unread messages (bytes) beyond which the peer is closed with `slow_consumer`. */
  readonly maxOutboundBytes: number;
  readonly metrics: ServerMetrics;
  /**
   * A new session for this connection's `config` (two channels: a `TwoChannelSession`, counted as
   * two streams); undefined when refused (the error was sent). It is not configured yet.
   */
  createSession(connection: ServedConnection, config: StreamConfig): ClientSession | undefined;
  /** The live session a resume token names, if any. */
  findSession(resumeToken: string): ClientSession | undefined;
  /** In a cluster: resume on any node. */
  readonly clusterResume?: ClusterResume;
  /** Whether the session may be taken over now (one that released its decoders needs room); else the error was sent. */
  admitResume(connection: ServedConnection, session: ClientSession): boolean;
  /** The session's config was refused: the connection counts one stream again. */
  configRefused(): void;
  /** The connection got its session (a valid config or resume), once. */
  onSessionBound(): void;
}

/** Resume on any node (`cluster/session-takeover.ts`), for a connection of one key. */
export interface ClusterResume {
  /**
   * Whether `session`, held here, is still this node's: false when its record names another node
   * (that node took it over; the copy here has ended), true too when Redis does not answer.
   */
  stillHere(session: ClientSession, resumeToken: string): Promise<boolean>;
  /** Continues the session a resume token names that another node held; undefined when it cannot (the error was sent). */
  takeOver(connection: ServedConnection, message: ResumeMessage): Promise<ClientSession | undefined>;
}

/** What the context needs of the connection it serves (a `Connection`). */
export interface ServedConnection extends SessionConnection {
  /** An error that ends the connection, not a drop: its session (if any) does not wait for a resume. */
  refuse(code: ErrorCode, message: string): void;
}

export interface SessionAccess {
  readonly engine: Engine;
  readonly sessions: SessionRegistry;
  readonly sessionHooks: SessionHooks;
  readonly capacity: Capacity;
  readonly tokens: StreamTokens;
  readonly metrics: ServerMetrics;
  readonly settings: ServerSettings;
  readonly log: Logger;
  /** The cluster this node is in (`--redis`); undefined: alone. */
  readonly cluster?: Cluster | undefined;
}

/**
 * The context of a connection of `key`. `token`: the stream token it came in with; it opens one
 * session and resumes only that. `counted`: told when the connection gets its session.
 */
export function connectionContext(
  access: SessionAccess,
  key: string,
  token: StreamToken | undefined,
  counted: CountedConnection,
): ConnectionContext {
  const { engine, sessions, capacity, metrics, settings, log } = access;
  return {
    log,
    metrics,
    maxFrameBytes: settings.limits.maxFrameBytes,
    pingIntervalMs: settings.pingIntervalMs,
    livenessTimeoutMs: settings.livenessTimeoutMs,
    configTimeoutMs: settings.configTimeoutMs,
    maxOutboundBytes: settings.limits.maxOutboundBytes,
    createSession(connection: ServedConnection, config: StreamConfig): ClientSession | undefined {
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
      const channels = config.channels ?? 1;
      const tooMany = counted.holds(channels);
      if (tooMany) {
        connection.refuse("too_many_streams", tooMany);
        return undefined;
      }
      // Admission is decided here, where a stream starts to cost: the upgrade's check is a quick
      // refusal for a server already full, and a connection that never configures costs nothing.
      const refused = capacity.admitNewSession(key, channels);
      if (refused) {
        log.info({ reason: refused.reason, channels }, "new session refused: over capacity");
        connection.error(refused.reason === "draining" ? "draining" : "over_capacity", refused.message);
        return undefined;
      }
      const Session = channels === 2 ? TwoChannelSession : StreamSession;
      const session = new Session(
        connection,
        engine,
        settings.limits,
        log,
        access.sessionHooks,
        settings.streamDefaults,
      );
      sessions.add(session, key);
      if (token) {
        access.tokens.bind(token, session.resumeToken);
        // So that another node lets the token in to continue this session (resume on any node).
        void access.cluster?.tokens.bindSession(token.clusterId, session.resumeToken);
      }
      return session;
    },
    onSessionBound(): void {
      counted.bound();
    },
    configRefused(): void {
      counted.holds(1);
    },
    findSession(resumeToken: string): ClientSession | undefined {
      return token === undefined || token.session === resumeToken ? sessions.find(key, resumeToken) : undefined;
    },
    ...(access.cluster === undefined ? {} : { clusterResume: clusterResume(access, access.cluster, key, token) }),
    admitResume(connection: ServedConnection, session: ClientSession): boolean {
      // A draining node moves its sessions away: the client resumes on another node.
      if (capacity.draining) {
        log.info({ session: session.id }, "resume refused: draining");
        connection.error("draining", DRAINING_REFUSAL);
        return false;
      }
      // Let in as its first connection was: a two-channel session counts two for its key.
      counted.holds(session.channels, true);
      // A session that gave its decoders back needs them again, like a new stream.
      if (session.decodersToReopen === 0) return true;
      const refused = capacity.admitNewSession(key, session.decodersToReopen);
      if (!refused) return true;
      log.info({ reason: refused.reason, session: session.id }, "resume refused: over capacity");
      connection.error("over_capacity", refused.message);
      return false;
    },
  };
}

/** Resume on any node for a connection of `key` (with `token`: it resumes only the session that token opened). */
function clusterResume(
  access: SessionAccess,
  cluster: Cluster,
  key: string,
  token: StreamToken | undefined,
): ClusterResume {
  const { engine, sessions, capacity, settings, log } = access;
  return {
    async stillHere(session: ClientSession, resumeToken: string): Promise<boolean> {
      const record = await cluster.sessionRecord(resumeToken);
      if (!record || record.node === cluster.nodeId) return true;
      log.info({ session: session.id, node: record.node }, "session taken over by another node; ending it here");
      session.takenOver();
      return false;
    },
    takeOver(connection: ServedConnection, message: ResumeMessage): Promise<ClientSession | undefined> {
      // A stream token resumes only the session it opened (adopted for it, see SharedTokens.adopt).
      if (token !== undefined && token.session !== message.resume_token) {
        cluster.resumeOutcome("not_found");
        connection.error("session_not_found");
        return Promise.resolve(undefined);
      }
      return takeOverSession(
        {
          cluster,
          key,
          log,
          admit(): boolean {
            const refused = capacity.admitNewSession(key, 1);
            if (!refused) return true;
            log.info({ reason: refused.reason }, "resume from another node refused: over capacity");
            connection.error("over_capacity", refused.message);
            return false;
          },
          open(identity: SessionIdentity): StreamSession {
            const { limits, streamDefaults } = settings;
            const session = new StreamSession(
              connection,
              engine,
              limits,
              log,
              access.sessionHooks,
              streamDefaults,
              identity,
            );
            sessions.add(session, key);
            return session;
          },
          notFound: () => connection.error("session_not_found"),
        },
        message,
      );
    },
  };
}
