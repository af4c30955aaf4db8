/**
 * The OpenAI surface's errors, in OpenAI's shape `{"error":{"message","type","param","code"}}`
 * (openapi `ErrorResponse`): one table of codes with their HTTP status and OpenAI `type`, so the
 * SDK raises the matching class (401 `AuthenticationError`, 429 `RateLimitError`, …).
 * docs/compatibility.md lists the same table; `openai-errors.test.ts` checks they agree.
 */
import type { ServerResponse } from "node:http";
import { defineError } from "@earshot/protocol/define-error";

export const OPENAI_ERRORS = {
  invalid_api_key: { status: 401, type: "invalid_request_error" },
  invalid_request: { status: 400, type: "invalid_request_error" },
  missing_file: { status: 400, type: "invalid_request_error" },
  invalid_file: { status: 400, type: "invalid_request_error" },
  unsupported_model: { status: 400, type: "invalid_request_error" },
  unsupported_language: { status: 400, type: "invalid_request_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  file_too_large: { status: 413, type: "invalid_request_error" },
  unsupported_file_format: { status: 415, type: "invalid_request_error" },
  too_many_streams: { status: 429, type: "rate_limit_error" },
  over_capacity: { status: 503, type: "server_error" },
  engine_unavailable: { status: 503, type: "server_error" },
} as const satisfies Record<string, { status: number; type: string }>;

export type OpenAiErrorCode = keyof typeof OPENAI_ERRORS;

/** An error to answer with: `param` names the form field at fault, `headers` go on the response. */
export class OpenAiError extends defineError<
  OpenAiErrorCode,
  { param: string | null; headers: Readonly<Record<string, string>> }
>("OpenAiError", () => ({ param: null, headers: {} })) {}

export function sendOpenAiError(response: ServerResponse, error: OpenAiError): void {
  const { status, type } = OPENAI_ERRORS[error.code];
  const body = JSON.stringify({ error: { message: error.message, type, param: error.param, code: error.code } });
  response
    .writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      // Refusals a retry cannot fix say so, so the SDK does not retry them.
      ...(status >= 500 || status === 429 ? {} : { "x-should-retry": "false" }),
      ...error.headers,
    })
    .end(body);
}
