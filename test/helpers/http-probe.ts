/** Plain-HTTP looks at a server: a WebSocket upgrade read as a response, a raw request, and polling until true. */
import { type IncomingMessage, request } from "node:http";
import type { Duplex } from "node:stream";

export interface UpgradeAnswer {
  /** 101 when the server accepted the upgrade (the socket is then closed at once, unless held). */
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** With `hold`: the upgraded socket, open until the caller destroys it. */
  readonly socket?: Duplex;
}

/**
 * Sends a WebSocket upgrade request and reads the answer as HTTP, so a refusal can be inspected.
 * `hold`: keep an accepted upgrade's socket open (the stream keeps its place) and return it.
 */
export function upgradeAnswer(
  baseUrl: string,
  key: string | undefined,
  path = "/v1/audio/transcriptions/stream",
  { hold = false }: { readonly hold?: boolean } = {},
) {
  return new Promise<UpgradeAnswer>((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        ...(key === undefined ? {} : { Authorization: `Bearer ${key}` }),
      },
    });
    req.on("upgrade", (response, socket) => {
      if (!hold) socket.destroy();
      resolve({ status: response.statusCode ?? 101, headers: response.headers, body: "", ...(hold ? { socket } : {}) });
    });
    req.on("response", (response) => readAnswer(response, resolve));
    req.on("error", reject);
    req.end();
  });
}

/** Resolves once `check` returns true; rejects with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw request, so the path is sent exactly as written (fetch would normalize `..`). */
export function rawRequest(url: string, path: string, method = "GET") {
  return new Promise<UpgradeAnswer>((resolve, reject) => {
    const req = request(`${url}${path}`, { method }, (response) => readAnswer(response, resolve));
    req.on("error", reject);
    req.end();
  });
}

/** Collects a response's body and resolves with its status, headers and body. */
function readAnswer(response: IncomingMessage, resolve: (answer: UpgradeAnswer) => void): void {
  let body = "";
  response.on("data", (chunk) => {
    body += chunk;
  });
  response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
}
