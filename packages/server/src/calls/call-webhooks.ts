/**
 * Optional signed webhooks for calls: every final and every `call_ended` (and `call_started`) is
 * POSTed as JSON to one URL, signed with HMAC-SHA256 (`X-Earshot-Signature: t=<unix s>,v1=<hex of
 * HMAC(secret, "<t>.<body>")>`, after Stripe's scheme: the timestamp bounds replays). Delivery is at
 * least once: a network error, a timeout, 408, 429 or a 5xx is retried with exponential backoff and
 * full jitter, up to `maxAttempts`; any other answer, or the last failed attempt, sends the delivery
 * to the dead-letter log (a warning with the call, cursor and why, never the transcript: the call's
 * kept messages can be fetched again by cursor from `/v1/calls/{sid}/events` while it is retained).
 * Deliveries waiting (in flight or for a retry) are bounded by `maxQueued`; beyond, new ones are
 * dead-lettered at once (`queue_full`). Receivers dedupe by `X-Earshot-Delivery` or by call + cursor.
 */
import { createHmac, randomUUID } from "node:crypto";
import type { KeptCallMessage } from "@earshot/protocol";
import type { Logger } from "pino";
import type { Counter, Registry } from "prom-client";
import { labelledCounter } from "../metric-kinds.js";

export interface WebhookOptions {
  /** Where to POST (http or https). */
  readonly url: string;
  /** The HMAC-SHA256 key of `X-Earshot-Signature`. */
  readonly secret: string;
  /** Attempts per delivery, the first included (default 6). */
  readonly maxAttempts?: number;
  /** Deliveries waiting at once, in flight or for a retry (default 1000). */
  readonly maxQueued?: number;
  /** Deliveries in flight at once (default 4). */
  readonly concurrency?: number;
  /** Backoff before the first retry; doubled each time, up to `maxDelayMs`, with full jitter (default 500). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** One attempt's time limit (default 5000). */
  readonly timeoutMs?: number;
}

export const SIGNATURE_HEADER = "x-earshot-signature";
export const DELIVERY_HEADER = "x-earshot-delivery";

export const WEBHOOK_RESULTS = ["delivered", "retried", "dead_letter"] as const;
export type WebhookResult = (typeof WEBHOOK_RESULTS)[number];
export type DeadLetterReason = "rejected" | "attempts_exhausted" | "queue_full" | "shutdown";

interface Delivery {
  readonly id: string;
  readonly body: string;
  readonly callSid: string;
  readonly cursor: number;
  readonly type: string;
  attempts: number;
}

/** `X-Earshot-Signature` for `body` sent at `timestampS` (unix seconds). */
export function webhookSignature(secret: string, timestampS: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${timestampS}.${body}`, "utf8").digest("hex");
  return `t=${timestampS},v1=${mac}`;
}

export class CallWebhooks {
  readonly #options: Required<WebhookOptions>;
  readonly #log: Logger;
  readonly #results: Counter<"result">;
  /** Deliveries ready to be attempted, in order. */
  readonly #ready: Delivery[] = [];
  /** Deliveries waiting for their retry, with their timers. */
  readonly #retrying = new Map<Delivery, NodeJS.Timeout>();
  #inFlight = 0;
  readonly #aborts = new Set<AbortController>();
  #closed = false;

  constructor(options: WebhookOptions, log: Logger, registry: Registry) {
    this.#options = {
      maxAttempts: 6,
      maxQueued: 1000,
      concurrency: 4,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      timeoutMs: 5000,
      ...options,
    };
    this.#log = log.child({ webhook: new URL(options.url).host });
    this.#results = labelledCounter(
      registry,
      "earshot_webhook_deliveries_total",
      "Call webhook attempts by result: delivered, retried (a retry was scheduled), dead_letter (given up).",
      "result",
      WEBHOOK_RESULTS,
    );
  }

  /** Deliveries waiting (in flight, ready, or for a retry). */
  get queued(): number {
    return this.#ready.length + this.#retrying.size + this.#inFlight;
  }

  /** A call kept a message: finals, call_started and call_ended are delivered. */
  send(callSid: string, message: KeptCallMessage): void {
    if (this.#closed) return;
    const delivery: Delivery = {
      id: randomUUID(),
      body: JSON.stringify(message.type === "transcript" ? { ...message, call_sid: callSid } : message),
      callSid,
      cursor: message.cursor,
      type: message.type,
      attempts: 0,
    };
    if (this.queued >= this.#options.maxQueued) {
      this.#deadLetter(delivery, "queue_full");
      return;
    }
    this.#ready.push(delivery);
    this.#pump();
  }

  /** Stops: what waits is dead-lettered (`shutdown`), attempts in flight are aborted. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [delivery, timer] of this.#retrying) {
      clearTimeout(timer);
      this.#deadLetter(delivery, "shutdown");
    }
    this.#retrying.clear();
    for (const delivery of this.#ready.splice(0)) this.#deadLetter(delivery, "shutdown");
    for (const abort of this.#aborts) abort.abort();
  }

  #pump(): void {
    while (!this.#closed && this.#inFlight < this.#options.concurrency && this.#ready.length > 0) {
      const delivery = this.#ready.shift();
      if (!delivery) return;
      this.#inFlight += 1;
      this.#attempt(delivery)
        .catch((error: unknown) => this.#log.error({ err: error }, "webhook delivery failed unexpectedly"))
        .finally(() => {
          this.#inFlight -= 1;
          this.#pump();
        });
    }
  }

  async #attempt(delivery: Delivery): Promise<void> {
    delivery.attempts += 1;
    const outcome = await this.#post(delivery);
    if (this.#closed) {
      if (outcome !== "delivered") this.#deadLetter(delivery, "shutdown");
      return;
    }
    if (outcome === "delivered") {
      this.#results.inc({ result: "delivered" });
      return;
    }
    if (outcome === "rejected") {
      this.#deadLetter(delivery, "rejected");
      return;
    }
    if (delivery.attempts >= this.#options.maxAttempts) {
      this.#deadLetter(delivery, "attempts_exhausted");
      return;
    }
    this.#results.inc({ result: "retried" });
    const ceiling = Math.min(this.#options.maxDelayMs, this.#options.baseDelayMs * 2 ** (delivery.attempts - 1));
    const timer = setTimeout(() => {
      this.#retrying.delete(delivery);
      this.#ready.push(delivery);
      this.#pump();
    }, Math.random() * ceiling);
    timer.unref();
    this.#retrying.set(delivery, timer);
  }

  /** One POST: delivered (2xx), worth a retry (network, timeout, 408, 429, 5xx), or rejected (anything else). */
  async #post(delivery: Delivery): Promise<"delivered" | "retry" | "rejected"> {
    const abort = new AbortController();
    this.#aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), this.#options.timeoutMs);
    try {
      const response = await fetch(this.#options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: webhookSignature(this.#options.secret, Math.floor(Date.now() / 1000), delivery.body),
          [DELIVERY_HEADER]: delivery.id,
        },
        body: delivery.body,
        signal: abort.signal,
      });
      await response.body?.cancel();
      if (response.ok) return "delivered";
      const status = response.status;
      this.#log.info({ status, call: delivery.callSid, cursor: delivery.cursor }, "webhook answered with an error");
      return status === 408 || status === 429 || status >= 500 ? "retry" : "rejected";
    } catch (error) {
      this.#log.info({ err: error, call: delivery.callSid, cursor: delivery.cursor }, "webhook attempt failed");
      return "retry";
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
    }
  }

  #deadLetter(delivery: Delivery, reason: DeadLetterReason): void {
    this.#results.inc({ result: "dead_letter" });
    this.#log.warn(
      {
        code: "webhook_dead_letter",
        reason,
        delivery: delivery.id,
        call: delivery.callSid,
        cursor: delivery.cursor,
        type: delivery.type,
        attempts: delivery.attempts,
      },
      "webhook delivery given up",
    );
  }
}
