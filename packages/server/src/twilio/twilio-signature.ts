/**
 * Twilio's request signature (`X-Twilio-Signature`), as Twilio computes it for a WebSocket upgrade:
 * base64 of HMAC-SHA1, keyed with the account's auth token, of the URL Twilio was given
 * (`wss://<host><path>`), followed by the request's POST parameters sorted by name, each name then
 * value (an upgrade has none). Checked against the official `twilio` package's
 * `getExpectedTwilioSignature` and `validateRequest` in `test/twilio-signature.test.ts`.
 *
 * As `validateRequest` does, a signature is accepted for the URL as received, without its port,
 * or with the default port added (proxies add or drop `:443` from the Host header; Twilio always
 * connects on 443), and then for the same URLs as WHATWG URL parsing normalises them.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-twilio-signature";
/** Base64 of a SHA-1 HMAC is 28 characters; anything much longer is not worth hashing. */
const MAX_SIGNATURE_CHARS = 128;

/** The signature Twilio sends for `url` (and POST `params`, none for an upgrade). */
export function twilioSignature(authToken: string, url: string, params: Record<string, string> = {}): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, name) => text + name + params[name], url);
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/** The URL Twilio signed for an upgrade to `target` (path and query) on `host` (the Host header). */
export function signedUrl(host: string, target: string): string {
  return `wss://${host}${target}`;
}

/** Whether `signature` is Twilio's for `url` (or a variant of it, above), compared in constant time. */
export function validTwilioSignature(authToken: string, signature: string | undefined, url: string): boolean {
  if (signature === undefined || signature.length === 0 || signature.length > MAX_SIGNATURE_CHARS) return false;
  const given = Buffer.from(signature);
  let ok = false;
  for (const candidate of candidates(url)) {
    const expected = Buffer.from(twilioSignature(authToken, candidate));
    ok = (expected.length === given.length && timingSafeEqual(expected, given)) || ok;
  }
  return ok;
}

/** `url` as received, without its port and with the default one; then the same, normalised. */
function candidates(url: string): Set<string> {
  const variants = new Set([url, withoutPort(url), withDefaultPort(url)]);
  let normalized: string | undefined;
  try {
    normalized = new URL(url).toString();
  } catch {
    return variants;
  }
  for (const variant of [normalized, withoutPort(normalized), withDefaultPort(normalized)]) variants.add(variant);
  return variants;
}

const AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?(\[[^\]]*\]|[^/?#:]*)(:\d*)?(.*)$/is;

function withoutPort(url: string): string {
  const parts = AUTHORITY.exec(url);
  if (!parts) return url;
  const [, scheme, userInfo = "", host, , rest] = parts;
  return `${scheme}${userInfo}${host}${rest}`;
}

/** `url` with the scheme's default port, when it names none (443 for wss and https, else 80). */
function withDefaultPort(url: string): string {
  const parts = AUTHORITY.exec(url);
  if (!parts || parts[4] !== undefined) return url;
  const [, scheme = "", userInfo = "", host, , rest] = parts;
  const port = /^(?:wss|https):/i.test(scheme) ? ":443" : ":80";
  return `${scheme}${userInfo}${host}${port}${rest}`;
}
