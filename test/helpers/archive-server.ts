/**
 * A loopback HTTP server standing in for the GitHub release host: serves archives with Range
 * support, and can be told to fail the next request with a status or to cut the connection in the
 * middle of the body. Records every request.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ServedRequest {
  readonly path: string;
  readonly range: string | undefined;
  readonly status: number;
  /** Body bytes written before the response ended or was cut. */
  bytesSent: number;
}

export class ArchiveServer {
  readonly requests: ServedRequest[] = [];
  readonly #files = new Map<string, Buffer>();
  readonly #server: Server;
  #failNext: number | undefined;
  #cutNextAfter: number | undefined;
  baseUrl = "";

  constructor() {
    this.#server = createServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://x").pathname;
      const body = this.#files.get(path);
      const range = request.headers.range;
      const failure = this.#failNext;
      this.#failNext = undefined;
      if (failure !== undefined || body === undefined) {
        const status = failure ?? 404;
        this.requests.push({ path, range, status, bytesSent: 0 });
        response.writeHead(status, { "content-type": "text/plain" }).end("no");
        return;
      }
      const start = Number(/^bytes=(\d+)-$/.exec(range ?? "")?.[1] ?? 0);
      const status = start > 0 ? 206 : 200;
      const part = body.subarray(start);
      const record: ServedRequest = { path, range, status, bytesSent: 0 };
      this.requests.push(record);
      response.writeHead(status, {
        "content-length": part.length,
        "content-type": "application/octet-stream",
        ...(status === 206 ? { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
      });
      const cut = this.#cutNextAfter;
      this.#cutNextAfter = undefined;
      if (cut !== undefined) {
        record.bytesSent = cut;
        // The promised length never arrives: the client sees the connection end mid-body. A FIN, not
        // a reset: a reset can discard bytes the (busy) client had not read yet.
        response.write(part.subarray(0, cut), () => response.socket?.end());
        return;
      }
      record.bytesSent = part.length;
      response.end(part);
    });
  }

  async listen(): Promise<string> {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    this.baseUrl = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/asr-models`;
    return this.baseUrl;
  }

  /** Serves `body` as `<base URL>/<fileName>`. */
  serve(fileName: string, body: Buffer): void {
    this.#files.set(`/asr-models/${fileName}`, body);
  }

  failNext(status: number): void {
    this.#failNext = status;
  }

  cutNextAfter(bytes: number): void {
    this.#cutNextAfter = bytes;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, "close");
  }
}
