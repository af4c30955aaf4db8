/**
 * Fixed static files (the demo page and the browser SDK it loads): a table of route → bytes built
 * once by the caller (`earshot serve`), so a request can only ever reach a file in that table,
 * never a path on disk.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { httpError } from "./http-replies.js";

export interface StaticAsset {
  readonly contentType: string;
  readonly body: Uint8Array;
}

export type StaticRoutes = ReadonlyMap<string, StaticAsset>;

/**
 * The page talks only to this origin, loads no third-party code, and may use the microphone.
 * `connect-src 'self'` covers same-origin ws:/wss: in current browsers; listed for older ones.
 */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "permissions-policy": "microphone=(self)",
  // The files change with every build; revalidating is cheap on loopback and right behind a proxy.
  "cache-control": "no-cache",
};

export function serveStatic(request: IncomingMessage, response: ServerResponse, asset: StaticAsset): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    httpError(response, 405, "invalid_message", "Static files answer GET and HEAD only.", { allow: "GET, HEAD" });
    return;
  }
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    "content-type": asset.contentType,
    "content-length": String(asset.body.byteLength),
  });
  response.end(request.method === "HEAD" ? undefined : asset.body);
}
