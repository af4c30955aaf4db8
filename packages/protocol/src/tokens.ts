/**
 * Stream tokens: `POST /v1/auth/token` (with an API key) mints a short-lived token that a browser
 * passes instead of the key to open one stream (see docs/protocol.md, "Stream tokens").
 */
import { z } from "zod";

export const TOKEN_PATH = "/v1/auth/token";
export const DEFAULT_TOKEN_TTL_SECONDS = 300;
export const MIN_TOKEN_TTL_SECONDS = 1;
export const MAX_TOKEN_TTL_SECONDS = 900;
/** Every stream token starts with this, so a credential is told apart from an API key at a glance. */
export const STREAM_TOKEN_PREFIX = "est_";

export const TokenRequestSchema = z.strictObject({
  ttl_seconds: z.number().int().min(MIN_TOKEN_TTL_SECONDS).max(MAX_TOKEN_TTL_SECONDS).optional(),
});
export type TokenRequest = z.infer<typeof TokenRequestSchema>;

export interface TokenResponse {
  /** Pass it as the API key of one stream (subprotocols `token, <token>` in a browser). */
  readonly token: string;
  /** When the token stops opening a stream (ISO 8601, UTC); a stream it opened outlives it. */
  readonly expires_at: string;
  readonly ttl_seconds: number;
}
