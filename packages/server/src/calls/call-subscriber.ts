/**
 * One subscriber WebSocket of a call's events. What it is sent is bounded as a stream client's is
 * (`OutboundQueue`: partials coalesce per channel; beyond `maxOutboundBytes` waiting it gets
 * `slow_consumer`, close 1013, and reconnects with its cursor: nothing is lost). Kept alive with
 * pings (`PeerLiveness`). It sends nothing that is read: its cursor is in the URL.
 */
import { type CallEventMessage, CloseCode, ERRORS, type ErrorCode } from "@earshot/protocol";
import type { Logger } from "pino";
import type { WebSocket } from "ws";
import type { ServerMetrics } from "../metrics.js";
import { OutboundQueue, outboundLimits } from "../outbound-queue.js";
import { type LivenessTiming, PeerLiveness } from "../peer-liveness.js";
import type { CallSink } from "./call.js";

export interface SubscriberContext extends LivenessTiming {
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  readonly maxOutboundBytes: number;
}

export class CallSubscriber implements CallSink {
  readonly key: string;
  readonly #ws: WebSocket;
  readonly #context: SubscriberContext;
  readonly #outbound: OutboundQueue<CallEventMessage>;
  readonly #liveness: PeerLiveness;
  #closed = false;
  #closeTimer: NodeJS.Timeout | undefined;

  constructor(ws: WebSocket, key: string, context: SubscriberContext, onClose: () => void) {
    this.#ws = ws;
    this.key = key;
    this.#context = context;
    this.#outbound = new OutboundQueue<CallEventMessage>(ws, outboundLimits(context.maxOutboundBytes), {
      overflow: () => this.#fail("slow_consumer", "The subscriber read too slowly; reconnect with your last cursor."),
      coalesced: () => context.metrics.partialCoalesced(),
      waitingBytesChanged: (delta) => context.metrics.outboundWaiting(delta),
    });
    this.#liveness = new PeerLiveness(
      context,
      {
        stalledMs: (now) => this.#outbound.stalledMs(now),
        ping: () => {
          if (!this.#closed) ws.ping();
        },
        drop: (reason) => {
          context.metrics.peerDropped(reason);
          ws.terminate();
        },
      },
      (check) => {
        try {
          check();
        } catch (error) {
          context.log.error({ err: error }, "subscriber liveness check failed");
          ws.terminate();
        }
      },
    );
    ws.on("pong", () => this.#liveness.answered());
    ws.on("error", (error) => context.log.debug({ err: error }, "subscriber socket error"));
    ws.on("close", () => {
      this.#closed = true;
      this.#liveness.stop();
      clearTimeout(this.#closeTimer);
      this.#outbound.close();
      onClose();
    });
  }

  send(message: CallEventMessage): void {
    if (!this.#closed) this.#outbound.send(message);
  }

  end(): void {
    this.#close(CloseCode.normal, "call ended");
  }

  refuse(): void {
    this.#fail("not_found", "The call belongs to another API key.", CloseCode.policyViolation);
  }

  /** Sends the error, then closes with its close code (or `closeCode`). */
  #fail(code: ErrorCode, message: string, closeCode: number = CloseCode.policyViolation): void {
    if (this.#closed) return;
    const spec = ERRORS[code];
    this.#outbound.clear();
    this.#outbound.send({ type: "error", code, message, retryable: spec.retryable });
    this.#close("close" in spec ? spec.close : closeCode, code);
  }

  /** What waits goes first; then the close frame. A peer that never answers it is cut. */
  #close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#liveness.stop();
    this.#outbound.flush();
    this.#outbound.close();
    this.#ws.close(code, reason);
    this.#closeTimer = setTimeout(() => this.#ws.terminate(), this.#context.livenessTimeoutMs);
    this.#closeTimer.unref();
  }
}
