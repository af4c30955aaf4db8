/** A raw `ws` client that records every server message, for wire-level tests. */
import { once } from "node:events";
import WebSocket from "ws";

export interface Received {
  readonly type: string;
  readonly [field: string]: unknown;
}

export class WireClient {
  readonly ws: WebSocket;
  readonly messages: Received[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.messages.push(JSON.parse(String(data)) as Received);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        resolve({ code, reason: String(reason) });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  static async open(
    baseUrl: string,
    key: string | undefined,
    options: { path?: string; protocols?: string[] } = {},
  ): Promise<WireClient> {
    const url = `${baseUrl.replace(/^http/, "ws")}${options.path ?? "/v1/audio/transcriptions/stream"}`;
    const headers = key === undefined ? {} : { Authorization: `Bearer ${key}` };
    const ws = new WebSocket(url, options.protocols ?? [], { headers });
    const client = new WireClient(ws);
    await once(ws, "open");
    return client;
  }

  sendJson(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /** Resolves with the first message (already received or future) that matches, or rejects on timeout/close. */
  async waitFor(match: (m: Received) => boolean, timeoutMs = 10_000, what = "message"): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  waitForError(code: string, timeoutMs?: number): Promise<Received> {
    return this.waitFor((m) => m.type === "error" && m.code === code, timeoutMs, `error ${code}`);
  }

  finals(): Received[] {
    return this.messages.filter((m) => m.type === "transcript" && m.is_final === true);
  }
}

export const SEED_CONFIG = {
  model: "whisper-stream-1",
  language: "en",
  task: "transcribe",
  response_format: "verbose_json",
  timestamp_granularity: "word",
} as const;
