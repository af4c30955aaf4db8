/**
 * Upgrades at `/v1/twilio/media-stream`. Twilio cannot send an `Authorization` header and forbids
 * query strings in a stream URL, so a stream proves itself in one of two ways: with the server's
 * Twilio auth token set, the upgrade's `X-Twilio-Signature` (checked here: 401 without one, 403
 * with a wrong one); without it, a stream token in the `token` parameter (checked at `start`, by
 * the stream). Either way nothing is decoded before. Streams that have not started are bounded.
 * Each channel of a call gets a stream session as a client's stream would (`openSession`). A full
 * node of a cluster whose other nodes have room refuses the upgrade (503), so that HAProxy retries
 * it on one of them rather than let the call in with no decoder for its tracks.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Engine } from "@earshot/engines";
import type { StreamConfig } from "@earshot/protocol";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { CallRegistry } from "../calls/call-registry.js";
import type { Capacity } from "../capacity.js";
import type { Cluster } from "../cluster/cluster.js";
import { passOnWhileFull } from "../cluster/cluster-room.js";
import { rejectUpgrade } from "../http-replies.js";
import type { KeyStreamLimit } from "../key-stream-limit.js";
import type { ServerMetrics } from "../metrics.js";
import type { RequestTarget } from "../request-target.js";
import type { ServerSettings } from "../server-options.js";
import { type SessionHooks, StreamSession } from "../session.js";
import type { SessionRegistry } from "../session-registry.js";
import type { SessionConnection } from "../session-types.js";
import type { SharedTokens } from "../shared-tokens.js";
import type { StreamTokens } from "../stream-tokens.js";
import type { UpgradeRoute } from "../upgrade.js";
import { callConfig } from "./call-config.js";
import { type MediaStreamContext, TwilioMediaStream } from "./media-stream.js";
import { TwilioFaultCounter } from "./twilio-faults.js";
import { TWILIO_MAX_FRAME_BYTES } from "./twilio-frame.js";
import { SIGNATURE_HEADER, signedUrl, validTwilioSignature } from "./twilio-signature.js";

export const TWILIO_PATH = "/v1/twilio/media-stream";
/** Streams connected that have not sent `start` (each for at most `configTimeoutMs`). */
const MAX_UNSTARTED_STREAMS = 64;
const TOO_MANY_RETRY_AFTER_S = 5;

export interface TwilioUpgradeContext {
  readonly log: Logger;
  readonly engine: Engine;
  readonly settings: ServerSettings;
  readonly sessions: SessionRegistry;
  readonly sessionHooks: SessionHooks;
  readonly capacity: Capacity;
  /** The cluster this node is in (`--redis`); undefined: alone. */
  readonly cluster?: Cluster | undefined;
  readonly tokens: StreamTokens;
  readonly metrics: ServerMetrics;
  readonly calls: CallRegistry;
  readonly keyStreamLimit: KeyStreamLimit;
  readonly sharedTokens: SharedTokens;
  /** Twilio's auth token: set, every upgrade must be signed with it. */
  readonly authToken: string | undefined;
}

export class TwilioUpgrades implements UpgradeRoute {
  readonly #context: TwilioUpgradeContext;
  readonly #wss: WebSocketServer;
  readonly #faults: TwilioFaultCounter;
  readonly #streams = new Set<TwilioMediaStream>();

  constructor(context: TwilioUpgradeContext) {
    this.#context = context;
    this.#faults = new TwilioFaultCounter(context.metrics.registry);
    // Frames over TWILIO_MAX_FRAME_BYTES are faults the stream survives; ws cuts only far larger ones.
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: 16 * TWILIO_MAX_FRAME_BYTES });
  }

  matches(pathname: string): boolean {
    return pathname === TWILIO_PATH;
  }

  terminateAll(): void {
    for (const client of this.#wss.clients) client.terminate();
  }

  handle(request: IncomingMessage, socket: Duplex, head: Buffer, _target: RequestTarget & { ok: true }): void {
    const { log, metrics, authToken } = this.#context;
    const remote = request.socket.remoteAddress;
    if (authToken !== undefined) {
      const header = request.headers[SIGNATURE_HEADER];
      const signature = Array.isArray(header) ? header[0] : header;
      if (signature === undefined) {
        log.info({ remote }, "twilio upgrade refused: no X-Twilio-Signature");
        metrics.refused("unauthorized");
        rejectUpgrade(socket, 401, "unauthorized", "A Twilio media stream needs X-Twilio-Signature.");
        return;
      }
      const url = signedUrl(request.headers.host ?? "", request.url ?? "");
      if (!validTwilioSignature(authToken, signature, url)) {
        log.info({ remote, url }, "twilio upgrade refused: X-Twilio-Signature does not match");
        metrics.refused("invalid_signature");
        rejectUpgrade(socket, 403, "invalid_signature", `X-Twilio-Signature is not Twilio's for ${url}.`);
        return;
      }
    }
    const passOn = passOnWhileFull(this.#context.capacity, this.#context.cluster?.otherNodes());
    if (passOn) {
      log.info({ remote, reason: passOn.reason }, "twilio upgrade refused: full, another node has room");
      metrics.refused(passOn.reason);
      rejectUpgrade(socket, 503, "over_capacity", passOn.message, passOn.retryAfterSeconds);
      return;
    }
    const unstarted = [...this.#streams].filter((stream) => stream.state === "connected").length;
    if (unstarted >= MAX_UNSTARTED_STREAMS) {
      metrics.refused("too_many_streams");
      rejectUpgrade(
        socket,
        429,
        "too_many_streams",
        "Too many Twilio streams have not started.",
        TOO_MANY_RETRY_AFTER_S,
      );
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const stream = new TwilioMediaStream(ws, this.#streamContext(authToken !== undefined));
      this.#streams.add(stream);
      ws.once("close", () => this.#streams.delete(stream));
      log.info({ remote, signed: authToken !== undefined }, "twilio stream connected");
    });
  }

  #streamContext(signed: boolean): MediaStreamContext {
    const { log, calls, tokens, sharedTokens, settings, metrics } = this.#context;
    return {
      log,
      calls,
      tokens,
      sharedTokens,
      signed,
      startTimeoutMs: settings.configTimeoutMs,
      pingIntervalMs: settings.pingIntervalMs,
      livenessTimeoutMs: settings.livenessTimeoutMs,
      faults: this.#faults,
      peerDropped: (reason) => metrics.peerDropped(reason),
      countConnection: async (key, streams) => {
        const counted = await this.#context.keyStreamLimit.count(key, streams);
        return counted.ok ? { ok: true, closed: counted.release } : counted;
      },
      channelConfig: (parameters) => callConfig(parameters, this.#context.engine),
      openSession: (connection, key, config, startSample, firstSegmentId) =>
        this.#openSession(connection, key, { ...config, start_sample: startSample, first_segment_id: firstSegmentId }),
    };
  }

  /** A channel's stream session, admitted and counted as a client's stream of `key` would be. */
  #openSession(connection: SessionConnection, key: string, config: StreamConfig): StreamSession | undefined {
    const { capacity, engine, settings, log, sessions, sessionHooks } = this.#context;
    const refused = capacity.admitNewSession(key);
    if (refused) {
      log.info({ reason: refused.reason }, "twilio channel refused: over capacity");
      return undefined;
    }
    const session = new StreamSession(connection, engine, settings.limits, log, sessionHooks, settings.streamDefaults);
    sessions.add(session, key);
    return session.configure(config) ? session : undefined;
  }
}
