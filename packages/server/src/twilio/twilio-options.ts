import type { WebhookOptions } from "../calls/call-webhooks.js";

/** What `createServer` takes for phone calls: Twilio media streams and their subscribers. */
export interface TwilioOptions {
  /**
   * The Twilio account's auth token (`TWILIO_AUTH_TOKEN`, `earshot serve --twilio-auth-token`). Set,
   * every media stream upgrade must carry a valid `X-Twilio-Signature` (else 401 or 403). Unset,
   * every stream must carry a stream token as its `token` parameter, checked at `start`.
   */
  readonly authToken?: string;
  /** How long an ended call's finals are kept for subscribers that reconnect (default 10 min). */
  readonly callRetentionMs?: number;
  /** POST every call's finals, start and end, signed, to this URL (docs/telephony.md, "Webhooks"). */
  readonly webhook?: WebhookOptions;
}
