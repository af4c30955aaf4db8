/**
 * Upgrades at `/v1/calls/{call_sid}/events`: a subscriber of a call's transcripts, authenticated
 * with an API key (as the stream endpoint takes one: `Authorization: Bearer`, or the `token`
 * subprotocol), counted against the key's connections. `?cursor=N` (default 0: from the start)
 * asks for every kept message after N. The call need not have started: the subscriber waits for it.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { credentialFromRequest, type KeyRing, TOKEN_SUBPROTOCOL } from "../auth.js";
import type { ConnectionCounts } from "../connection-counts.js";
import { rejectUpgrade } from "../http-replies.js";
import type { ServerMetrics } from "../metrics.js";
import type { RequestTarget } from "../request-target.js";
import type { ServerSettings } from "../server-options.js";
import type { UpgradeRoute } from "../upgrade.js";
import type { Call } from "./call.js";
import type { CallRegistry } from "./call-registry.js";
import { CallSubscriber } from "./call-subscriber.js";

const EVENTS_PATH = /^\/v1\/calls\/([A-Za-z0-9_-]{1,64})\/events$/;
const TOO_MANY_RETRY_AFTER_S = 5;

export interface CallEventsContext {
  readonly log: Logger;
  readonly keys: KeyRing;
  readonly connections: ConnectionCounts;
  readonly metrics: ServerMetrics;
  readonly settings: ServerSettings;
  readonly calls: CallRegistry;
}

export class CallEventsUpgrades implements UpgradeRoute {
  readonly #context: CallEventsContext;
  readonly #wss: WebSocketServer;

  constructor(context: CallEventsContext) {
    this.#context = context;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: 64 * 1024,
      handleProtocols: (protocols) => (protocols.has(TOKEN_SUBPROTOCOL) ? TOKEN_SUBPROTOCOL : false),
    });
  }

  /** A call's events are no stream: a draining node still serves them while its calls last. */
  readonly whileDraining = "admit";

  matches(pathname: string): boolean {
    return pathname.startsWith("/v1/calls/");
  }

  terminateAll(): void {
    for (const client of this.#wss.clients) client.terminate();
  }

  handle(request: IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget & { ok: true }): void {
    const { log, keys, connections, metrics, calls, settings } = this.#context;
    const sid = EVENTS_PATH.exec(target.pathname)?.[1];
    if (sid === undefined) {
      metrics.refused("not_found");
      rejectUpgrade(socket, 404, "not_found", `No WebSocket endpoint at ${target.pathname}.`);
      return;
    }
    const key = credentialFromRequest(request);
    if (key === undefined || !keys.accepts(key)) {
      log.info({ remote: request.socket.remoteAddress }, "call subscriber refused: unauthorized");
      metrics.refused("unauthorized");
      rejectUpgrade(socket, 401, "unauthorized", "A call's events need an API key.");
      return;
    }
    const cursorText = target.searchParams.get("cursor") ?? "0";
    if (!/^\d{1,15}$/.test(cursorText)) {
      metrics.refused("bad_request");
      rejectUpgrade(socket, 400, "bad_request", "cursor must be a whole number (the last cursor received).");
      return;
    }
    if (!calls.readableBy(sid, key)) {
      metrics.refused("not_found");
      rejectUpgrade(socket, 404, "not_found", `No call ${sid}.`);
      return;
    }
    const tooMany = connections.refusal(key);
    if (tooMany) {
      metrics.refused("too_many_streams");
      rejectUpgrade(socket, 429, "too_many_streams", tooMany, TOO_MANY_RETRY_AFTER_S);
      return;
    }
    const counted = connections.add(key);
    counted.bound();
    let upgraded = false;
    socket.once("close", () => {
      if (!upgraded) counted.closed(true);
    });
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      upgraded = true;
      let call: Call | undefined;
      const context = {
        log,
        metrics,
        maxOutboundBytes: settings.limits.maxOutboundBytes,
        pingIntervalMs: settings.pingIntervalMs,
        livenessTimeoutMs: settings.livenessTimeoutMs,
      };
      const subscriber = new CallSubscriber(ws, key, context, () => {
        counted.closed(true);
        if (call) calls.unsubscribe(call, subscriber);
      });
      const subscription = calls.subscribe(sid, subscriber, Number(cursorText));
      if (!subscription.ok) {
        ws.close(1008, subscription.code);
        return;
      }
      call = subscription.call;
      log.info({ call: sid, cursor: Number(cursorText) }, "call subscriber connected");
    });
  }
}
