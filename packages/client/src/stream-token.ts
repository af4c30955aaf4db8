/**
 * `mintStreamToken()`: asks a server for a stream token (`POST /v1/auth/token`) with an API key.
 * For a backend that hands tokens to browsers, or a page that holds a key only to mint (the demo).
 */
import type { ErrorCode, TokenResponse } from "@earshot/protocol";
import { EarshotClientError } from "./errors.js";
import { TOKEN_PATH } from "./options.js";

export interface MintOptions {
  /** How long the token may wait for its first use (1–900 s; the server's default is 300). */
  readonly ttlSeconds?: number;
}

/** `baseUrl` as for the client (`http(s)://host[:port]`). Rejects with an EarshotClientError. */
export async function mintStreamToken(
  baseUrl: string,
  apiKey: string,
  options: MintOptions = {},
): Promise<TokenResponse> {
  const url = new URL(TOKEN_PATH, baseUrl.replace(/^ws/, "http"));
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(options.ttlSeconds === undefined ? {} : { ttl_seconds: options.ttlSeconds }),
    });
  } catch (error) {
    throw new EarshotClientError("connection_failed", `POST ${url.pathname} failed: ${String(error)}`, {
      cause: error,
    });
  }
  const body = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & {
    code?: ErrorCode;
    message?: string;
    retryable?: boolean;
  };
  if (response.ok && typeof body.token === "string") return body as TokenResponse;
  // An error body is {code, message, retryable} (docs/errors.md); without one, this is not our server.
  const message = body.message ?? `POST ${url.pathname}: HTTP ${response.status}`;
  throw new EarshotClientError(body.code ?? "protocol_error", message, {
    status: response.status,
    retryable: body.retryable ?? false,
  });
}
