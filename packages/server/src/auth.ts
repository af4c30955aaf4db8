/**
 * Credentials: an API key or a stream token (stream-tokens.ts), as `Authorization: Bearer <key>`
 * (also `Token <key>`, as Deepgram clients send), or for browsers, which cannot set headers, the
 * WebSocket subprotocols `token, <key>`. Not in the query string: URLs end up in proxy logs.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const TOKEN_SUBPROTOCOL = "token";

export function credentialFromRequest(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^(?:Bearer|Token)\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  const protocols = (request.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const index = protocols.indexOf(TOKEN_SUBPROTOCOL);
  return index >= 0 ? protocols[index + 1] : undefined;
}

const digest = (key: string): Buffer => createHash("sha256").update(key).digest();

/** Compares digests in constant time, so response timing does not reveal how much of a key matched. */
export class KeyRing {
  readonly #digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.filter((k) => k.length > 0).map(digest);
  }

  get size(): number {
    return this.#digests.length;
  }

  accepts(key: string | undefined): boolean {
    if (key === undefined) return false;
    const candidate = digest(key);
    let ok = false;
    for (const known of this.#digests) ok = timingSafeEqual(known, candidate) || ok;
    return ok;
  }
}
