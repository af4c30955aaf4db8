/** JSON answers of the HTTP routes: bodies, and errors as `{code, message, retryable}`. */
import type { ServerResponse } from "node:http";
import { ERRORS, type ErrorCode } from "@earshot/protocol";

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

export function httpError(
  response: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  json(response, status, { code, message, retryable: ERRORS[code].retryable }, headers);
}
