/**
 * A peer below the WebSocket library, for hostile tests: raw TCP bytes, hand-built HTTP upgrade
 * requests and hand-built (possibly invalid) WebSocket frames, sent at any pace.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";

export const STREAM_PATH = "/v1/audio/transcriptions/stream";

/** An HTTP/1.1 WebSocket upgrade request. */
export function upgradeRequest(path: string, apiKey: string | undefined, extraHeaders = ""): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n` +
      (apiKey === undefined ? "" : `Authorization: Bearer ${apiKey}\r\n`) +
      `${extraHeaders}\r\n`,
  );
}

export interface FrameOptions {
  readonly opcode: number;
  readonly payload?: Buffer;
  readonly fin?: boolean;
  /** RSV1-3 bits (must be 0 without extensions). */
  readonly rsv?: number;
  /** Clients must mask; false sends an unmasked frame (a protocol error). */
  readonly mask?: boolean;
  /** Announce this payload length instead of the real one (a lie, or a truncation). */
  readonly declaredLength?: bigint;
}

/** One WebSocket frame as a client would send it (masked), or deliberately wrong. */
export function wsFrame(options: FrameOptions): Buffer {
  const payload = options.payload ?? Buffer.alloc(0);
  const length = options.declaredLength ?? BigInt(payload.byteLength);
  const mask = options.mask ?? true;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (options.opcode & 0x0f)];
  const maskBit = mask ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65_536n) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(Number(length));
  } else {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(length);
  }
  const key = mask ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (key[i % 4] ?? 0);
  return Buffer.concat([Buffer.from(head), extended, key, body]);
}

export interface RawExchangeOptions {
  /** Wait between chunks (a slow sender). */
  readonly gapMs?: number;
  /** After the last chunk, wait this long for the server to answer or close, then hang up. */
  readonly lingerMs?: number;
}

/** Connects, writes `chunks` (with gaps), lingers, hangs up; resolves with what the server sent. */
export async function rawExchange(port: number, chunks: readonly Buffer[], options: RawExchangeOptions = {}) {
  const socket = net.connect({ host: "127.0.0.1", port });
  let received = Buffer.alloc(0);
  let closedByServer = false;
  socket.on("data", (data: Buffer) => {
    if (received.byteLength < 64 * 1024) received = Buffer.concat([received, data]);
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) =>
    socket.on("close", () => {
      closedByServer = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve);
    socket.once("error", resolve);
  });
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    socket.write(chunk);
    if (options.gapMs) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
  }
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, options.lingerMs ?? 200))]);
  const serverClosed = closedByServer;
  socket.destroy();
  return { received, serverClosed };
}

/** A byte string split into pieces of `size` (a sender that dribbles). */
export function dribble(bytes: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.byteLength; at += size) pieces.push(bytes.subarray(at, at + size));
  return pieces;
}
