/**
 * One raw HTTP/1.1 exchange over a fresh TCP socket: the request is written byte for byte as given
 * (no client library to fix it up), and the first final response is read: its status and headers,
 * and its body when it has a length. Interim `100 Continue` answers are skipped; `101` is final.
 * A request the server's parser still waits on (it needs more bytes to decide) gets an end of
 * input (a half-close) after `halfCloseAfterMs`: then it must decide.
 */
import net from "node:net";

export interface RawAnswer {
  /** How the exchange ended: a status line came, the server closed (or reset) without one, or nothing came in time. */
  readonly ending: "answered" | "closed" | "reset" | "timeout";
  readonly status: number | undefined;
  /** Lower-cased names; the last of duplicates. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The answer came only after the half-close. */
  readonly afterHalfClose: boolean;
}

export interface RawHttpOptions {
  /** The request was HEAD: the answer has headers only. */
  readonly head?: boolean;
  /** Half-close the socket after this long without an answer (default 1000 ms). */
  readonly halfCloseAfterMs?: number;
  /** Give up after this long without a whole answer (default 3000 ms). */
  readonly timeoutMs?: number;
}

const HEADER_END = Buffer.from("\r\n\r\n");

export function rawHttp(port: number, request: Buffer, options: RawHttpOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let received = Buffer.alloc(0);
    let settled = false;
    let halfClosed = false;
    let head: { status: number; headers: Record<string, string>; bodyAt: number } | undefined;
    const finish = (ending: RawAnswer["ending"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(halfClose);
      socket.destroy();
      resolve({
        ending: head ? "answered" : ending,
        status: head?.status,
        headers: head?.headers ?? {},
        body: head ? bodyOf(head, received) : Buffer.alloc(0),
        afterHalfClose: halfClosed,
      });
    };
    const timer = setTimeout(() => finish("timeout"), options.timeoutMs ?? 3000);
    const halfClose = setTimeout(() => {
      if (received.byteLength > 0) return; // an answer is on its way
      halfClosed = true;
      socket.end();
    }, options.halfCloseAfterMs ?? 1000);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      head ??= finalHead(received);
      if (!head) return;
      if (options.head || head.status === 101 || head.status === 204 || head.status === 304) finish("answered");
      else if (bodyComplete(head, received)) finish("answered");
    });
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code === "ECONNRESET" ? "reset" : "closed"));
    socket.on("close", () => finish("closed"));
  });
}

/** The first response head that is not an interim 1xx (101 counts as final), once it is complete. */
function finalHead(received: Buffer): { status: number; headers: Record<string, string>; bodyAt: number } | undefined {
  let at = 0;
  for (;;) {
    const end = received.indexOf(HEADER_END, at);
    if (end < 0) return undefined;
    const [statusLine = "", ...lines] = received.subarray(at, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
    at = end + HEADER_END.byteLength;
    if (status >= 100 && status < 200 && status !== 101) continue;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status, headers, bodyAt: at };
  }
}

function declaredLength(headers: Readonly<Record<string, string>>): number | undefined {
  const declared = Number(headers["content-length"]);
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

type Head = { readonly headers: Readonly<Record<string, string>>; readonly bodyAt: number };

/** The body has its Content-Length, or its last chunk; any other body lasts until the close. */
function bodyComplete(head: Head, received: Buffer): boolean {
  const length = declaredLength(head.headers);
  if (length !== undefined) return received.byteLength - head.bodyAt >= length;
  if (head.headers["transfer-encoding"] === "chunked") return dechunk(received.subarray(head.bodyAt)).complete;
  return false;
}

/** The body as far as it came, de-chunked. */
function bodyOf(head: Head, received: Buffer): Buffer {
  const raw = received.subarray(head.bodyAt);
  if (head.headers["transfer-encoding"] === "chunked") return dechunk(raw).body;
  return raw.subarray(0, declaredLength(head.headers) ?? raw.byteLength);
}

function dechunk(raw: Buffer): { body: Buffer; complete: boolean } {
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd < 0) return { body: Buffer.concat(chunks), complete: false };
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isSafeInteger(size)) return { body: Buffer.concat(chunks), complete: false };
    if (size === 0) return { body: Buffer.concat(chunks), complete: true };
    chunks.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
