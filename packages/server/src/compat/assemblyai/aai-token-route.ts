/**
 * `GET /v3/token`, AssemblyAI's temporary tokens: an API key (`Authorization: <key>`, raw as
 * AssemblyAI's SDKs send it, or `Bearer`) mints a token for one `/v3/ws` stream, to hand to a
 * browser. It is an earshot stream token (stream-tokens.ts): single use, as AssemblyAI's are, and
 * `expires_in_seconds` (1–600) is how long it may wait for that use; `max_session_duration_seconds`
 * (60–10800) bounds its session (aai-session-limits.ts), within the server's own longest stream.
 * Answers `{"token","expires_in_seconds"}`, or `{"error"}` with a status, as AssemblyAI does.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KeyRing } from "../../auth.js";
import type { StreamTokens } from "../../stream-tokens.js";
import { sendAaiHttpError } from "./aai-errors.js";
import type { AaiMetrics } from "./aai-metrics.js";
import type { AaiSessionLimits } from "./aai-session-limits.js";
import { apiKeyFromHeader } from "./aai-upgrade.js";

export const AAI_TOKEN_PATH = "/v3/token";
const MAX_EXPIRES_IN_S = 600;
const MIN_SESSION_S = 60;
const MAX_SESSION_S = 10_800;

export interface AaiTokenContext {
  readonly keys: KeyRing;
  readonly tokens: StreamTokens;
  readonly aaiMetrics: AaiMetrics;
  readonly sessionLimits: AaiSessionLimits;
}

export function handleAaiToken(
  request: IncomingMessage,
  response: ServerResponse,
  query: URLSearchParams,
  context: AaiTokenContext,
): void {
  const { keys, tokens, aaiMetrics: metrics } = context;
  // A GET has no body worth reading; whatever came is drained so the connection can be reused.
  request.resume();
  if (request.method !== "GET") {
    metrics.token("method_not_allowed");
    sendAaiHttpError(response, 405, "Use GET.", { allow: "GET" });
    return;
  }
  // Only an API key mints: a token must not be able to mint its own successors.
  if (!keys.accepts(apiKeyFromHeader(request.headers.authorization))) {
    metrics.token("unauthorized");
    sendAaiHttpError(response, 401, "Invalid API key: send Authorization: <API key>.");
    return;
  }
  const key = apiKeyFromHeader(request.headers.authorization) as string;
  const expiresIn = boundedInteger(query.get("expires_in_seconds"), 1, MAX_EXPIRES_IN_S);
  if (expiresIn === undefined) {
    metrics.token("invalid_parameter");
    sendAaiHttpError(response, 400, `expires_in_seconds must be a whole number from 1 to ${MAX_EXPIRES_IN_S}.`);
    return;
  }
  const sessionParam = query.get("max_session_duration_seconds");
  const sessionS = sessionParam === null ? undefined : boundedInteger(sessionParam, MIN_SESSION_S, MAX_SESSION_S);
  if (sessionParam !== null && sessionS === undefined) {
    metrics.token("invalid_parameter");
    sendAaiHttpError(
      response,
      400,
      `max_session_duration_seconds must be a whole number from ${MIN_SESSION_S} to ${MAX_SESSION_S}.`,
    );
    return;
  }
  const minted = tokens.mint(key, expiresIn);
  if (!minted.ok) {
    metrics.token("too_many_tokens");
    sendAaiHttpError(response, 429, "Too many unused temporary tokens for this key; use or let some expire.", {
      "retry-after": String(minted.retryAfterSeconds),
    });
    return;
  }
  if (sessionS !== undefined) {
    // The table's entry for the token just minted (unused, so `check` finds it).
    const entry = tokens.check(minted.token, null);
    if (entry.ok) context.sessionLimits.set(entry.token, sessionS * 1000);
  }
  metrics.token("ok");
  const body = JSON.stringify({ token: minted.token, expires_in_seconds: expiresIn });
  // A credential: no cache may keep it.
  response
    .writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    })
    .end(body);
}

/** `value` as a whole number within [min, max], or undefined. */
function boundedInteger(value: string | null, min: number, max: number): number | undefined {
  if (value === null || !/^\d{1,6}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}
