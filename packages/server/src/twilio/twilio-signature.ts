/**
 * Twilio's request signature (`X-Twilio-Signature`), as Twilio computes it for a WebSocket upgrade:
 * base64 of HMAC-SHA1, keyed with the account's auth token, of the URL Twilio was given
 * (`wss://<host><path>`), normalised as WHATWG URL parsing does (so `:443`, wss's default port, is
 * dropped), followed by the request's POST parameters sorted by name, each name then value (an
 * upgrade has none). Checked against the official `twilio` package's `getExpectedTwilioSignature`
 * and `validateRequest` in `test/twilio-signature.test.ts`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-twilio-signature";
/** Base64 of a SHA-1 HMAC is 28 characters; anything much longer is not worth hashing. */
const MAX_SIGNATURE_CHARS = 128;

/** The signature Twilio sends for `url` (and POST `params`, none for an upgrade). */
export function twilioSignature(authToken: string, url: string, params: Record<string, string> = {}): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, name) => text + name + params[name], normalized(url));
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/** The URL Twilio signed for an upgrade to `target` (path and query) on `host` (the Host header). */
export function signedUrl(host: string, target: string): string {
  return `wss://${host}${target}`;
}

/** Whether `signature` is Twilio's for `url`, compared in constant time. */
export function validTwilioSignature(authToken: string, signature: string | undefined, url: string): boolean {
  if (signature === undefined || signature.length === 0 || signature.length > MAX_SIGNATURE_CHARS) return false;
  const expected = Buffer.from(twilioSignature(authToken, url));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** `url` as Twilio's library reads it (`new URL(url).toString()`); as given when it does not parse. */
function normalized(url: string): string {
  try {
    return new URL(url).toString();
  } catch {
    return url;
  }
}
