/**
 * Phone calls, as `createServer` wires them: the call registry, its gauges, the two WebSocket
 * routes (Twilio media streams in, call events out), and the webhooks when configured.
 */
import type { KeptCallMessage } from "@earshot/protocol";
import type { Logger } from "pino";
import type { Call } from "../calls/call.js";
import { type CallEventsContext, CallEventsUpgrades } from "../calls/call-events-upgrade.js";
import {
  CallRegistry,
  DEFAULT_CALL_RETENTION_MS,
  DEFAULT_MAX_ENDED_BYTES,
  DEFAULT_MAX_ENDED_CALLS,
  DEFAULT_MAX_SUBSCRIBERS_PER_CALL,
} from "../calls/call-registry.js";
import { CallWebhooks } from "../calls/call-webhooks.js";
import { scrapedGauge } from "../metric-kinds.js";
import type { UpgradeRoute } from "../upgrade.js";
import type { TwilioOptions } from "./twilio-options.js";
import { type TwilioUpgradeContext, TwilioUpgrades } from "./twilio-upgrade.js";

export type PhoneCallParts = Omit<TwilioUpgradeContext, "calls" | "authToken"> & Omit<CallEventsContext, "calls">;

export interface PhoneCalls {
  readonly routes: readonly UpgradeRoute[];
  readonly calls: CallRegistry;
  /** Stops the registry's timers and the webhooks (server shutdown). */
  close(): void;
}

export function phoneCalls(parts: PhoneCallParts, options: TwilioOptions = {}): PhoneCalls {
  const log: Logger = parts.log;
  const registry = parts.metrics.registry;
  const webhooks = options.webhook ? new CallWebhooks(options.webhook, log, registry) : undefined;
  const calls = new CallRegistry({
    retentionMs: options.callRetentionMs ?? DEFAULT_CALL_RETENTION_MS,
    maxEndedCalls: DEFAULT_MAX_ENDED_CALLS,
    maxEndedBytes: DEFAULT_MAX_ENDED_BYTES,
    maxSubscribersPerCall: DEFAULT_MAX_SUBSCRIBERS_PER_CALL,
    log,
    ...(webhooks ? { onKept: (call: Call, message: KeptCallMessage) => webhooks.send(call.sid, message) } : {}),
  });
  scrapedGauge(registry, "earshot_calls_live", "Calls with a Twilio media stream now.", calls.liveCalls);
  scrapedGauge(registry, "earshot_call_subscribers", "Subscribers connected to calls' events.", calls.subscribers);
  const authToken = options.authToken === "" ? undefined : options.authToken;
  return {
    calls,
    routes: [new TwilioUpgrades({ ...parts, calls, authToken }), new CallEventsUpgrades({ ...parts, calls })],
    close() {
      calls.close();
      webhooks?.close();
    },
  };
}
