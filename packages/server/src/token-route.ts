/**
 * `POST /v1/auth/token`: an API key (`Authorization: Bearer <key>`) mints a stream token for one
 * browser stream (see stream-tokens.ts). Body: optional JSON `{"ttl_seconds": n}`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DEFAULT_TOKEN_TTL_SECONDS, ERRORS, TokenRequestSchema, type TokenResponse } from "@earshot/protocol";
import type { KeyRing } from "./auth.js";
import type { Cluster } from "./cluster/cluster.js";
import { httpError, json } from "./http-replies.js";
import type { StreamTokens } from "./stream-tokens.js";

/** A token request is a handful of bytes; anything longer is not one. */
const MAX_BODY_BYTES = 1024;

export interface TokenRouteContext {
  readonly keys: KeyRing;
  readonly tokens: StreamTokens;
  /** In a cluster, a token is also published in Redis, so any node lets its stream in. */
  readonly cluster?: Cluster | undefined;
}

/** Resolves once answered; rejects only on a bug (the server's request guard answers 500 then). */
export async function handleTokenRequest(
  request: IncomingMessage,
  response: ServerResponse,
  context: TokenRouteContext,
): Promise<void> {
  if (request.method !== "POST") {
    httpError(response, 405, "invalid_message", "Use POST to mint a stream token.", { allow: "POST" });
    request.resume();
    return;
  }
  // Only an API key mints: a stream token must not be able to mint its own successors.
  const key = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
  if (!context.keys.accepts(key)) {
    request.resume();
    httpError(response, 401, "unauthorized", "POST /v1/auth/token needs Authorization: Bearer <API key>.", {
      "www-authenticate": 'Bearer realm="earshot"',
    });
    return;
  }
  let body: string | undefined;
  try {
    body = await readBody(request);
  } catch {
    response.destroy(); // the request was aborted: nobody is left to answer
    return;
  }
  if (body === undefined) {
    httpError(response, 413, "invalid_message", `The body is limited to ${MAX_BODY_BYTES} bytes.`);
    return;
  }
  await mint(response, context, key as string, body);
}

async function mint(response: ServerResponse, context: TokenRouteContext, key: string, body: string): Promise<void> {
  let raw: unknown = {};
  if (body.trim() !== "") {
    try {
      raw = JSON.parse(body);
    } catch {
      httpError(response, 400, "bad_json", "The body must be a JSON object (or empty).");
      return;
    }
  }
  const parsed = TokenRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    httpError(response, 400, "invalid_message", `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}.`);
    return;
  }
  const ttlSeconds = parsed.data.ttl_seconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  const minted = context.tokens.mint(key, ttlSeconds);
  if (!minted.ok) {
    httpError(response, 429, "too_many_tokens", ERRORS.too_many_tokens.summary, {
      "retry-after": String(minted.retryAfterSeconds),
    });
    return;
  }
  // Redis away: the token still works on this node (published: false, logged and counted there).
  await context.cluster?.tokens.publish(minted.token, key, minted.expiresAt);
  const answer: TokenResponse = {
    token: minted.token,
    expires_at: new Date(minted.expiresAt).toISOString(),
    ttl_seconds: ttlSeconds,
  };
  // A credential: no cache may keep it.
  json(response, 200, answer, { "cache-control": "no-store" });
}

/** The body as text, or undefined when it is over the limit. */
function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on("end", () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}
