/**
 * Streams an eval set through a real server (in-process, loopback, port 0) in one wire encoding and
 * counts what goes on the wire: the SDK with `encoding` for 16 kHz audio, or raw G.711 bytes as a
 * telephone line would send them (the 8 kHz μ-law set). Audio is sent 10× faster than real time
 * (WER does not depend on pacing); every binary message's size is kept for the byte counts.
 */

import { once } from "node:events";
import { type ClientStreamConfig, EarshotClient, nodeTransport, type TransportFactory } from "@earshot/client";
import { type Encoding, SAMPLES_PER_MS, type StreamConfig } from "@earshot/protocol";
import { loadPcm, type Utterance } from "@earshot/test-support";
import WebSocket from "ws";

export const API_KEY = "encodings-bench-key";
const PIECE_MS = 100;
const SPEED = 10;

export interface FileRun {
  readonly id: string;
  readonly hypothesis: string;
  /** Size of every binary message sent, in bytes. */
  readonly payloads: readonly number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One file through the SDK with `encoding` (the SDK encodes 16 kHz PCM). */
export async function runSdk(
  url: string,
  encoding: Encoding,
  utterance: Utterance,
  config: ClientStreamConfig = {},
): Promise<FileRun> {
  return runSdkPcm(url, encoding, utterance.id, loadPcm(utterance.path), config);
}

/** 16 kHz PCM through the SDK with `encoding`, 100 ms a message. */
export async function runSdkPcm(
  url: string,
  encoding: Encoding,
  id: string,
  pcm: Int16Array,
  config: ClientStreamConfig = {},
): Promise<FileRun> {
  const payloads: number[] = [];
  const transport: TransportFactory = (request, handlers) => {
    const inner = nodeTransport(request, handlers);
    return {
      get bufferedAmount() {
        return inner.bufferedAmount;
      },
      send(data) {
        if (typeof data !== "string") payloads.push(data.byteLength);
        inner.send(data);
      },
      close: (code, reason) => inner.close(code, reason),
      terminate: () => inner.terminate?.(),
    };
  };
  const client = new EarshotClient({ url, apiKey: API_KEY, encoding, config, transport, closeTimeoutMs: 120_000 });
  const finals: string[] = [];
  client.on("final", (final) => finals.push(final.text));
  await client.connect();
  const piece = PIECE_MS * SAMPLES_PER_MS;
  for (let at = 0; at < pcm.length; at += piece) {
    if (!client.send(pcm.subarray(at, at + piece))) {
      await new Promise<void>((resolve) => client.once("drain", () => resolve()));
    }
    await sleep(PIECE_MS / SPEED);
  }
  const result = await client.close();
  if (result.code !== 1000) throw new Error(`${id} (${encoding}): closed with ${result.code}`);
  return { id, hypothesis: finals.join(" "), payloads };
}

/** One 8 kHz μ-law file sent as it is, 100 ms (800 bytes) a binary frame, over a raw socket. */
export async function runRawMulaw(
  url: string,
  id: string,
  bytes: Uint8Array,
  config: Pick<StreamConfig, "band_extension_db"> = {},
): Promise<FileRun> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/audio/transcriptions/stream`, {
    headers: { Authorization: `Bearer ${API_KEY}` },
  });
  const finals: string[] = [];
  let closed = false;
  const done = new Promise<void>((resolve, reject) => {
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(String(data)) as { type: string; is_final?: boolean; text?: string };
      if (message.type === "transcript" && message.is_final) finals.push(message.text ?? "");
      if (message.type === "error") reject(new Error(`${id}: ${String(data)}`));
      if (message.type === "stream_closed") closed = true;
    });
    ws.on("close", () => (closed ? resolve() : reject(new Error(`${id}: closed before stream_closed`))));
  });
  await once(ws, "open");
  ws.send(
    JSON.stringify({ type: "config", config: { language: "en", encoding: "mulaw", sample_rate: 8000, ...config } }),
  );
  const payloads: number[] = [];
  const piece = PIECE_MS * 8;
  for (let at = 0; at < bytes.length; at += piece) {
    const frame = bytes.subarray(at, at + piece);
    payloads.push(frame.byteLength);
    ws.send(frame);
    await sleep(PIECE_MS / SPEED);
  }
  ws.send(JSON.stringify({ type: "close_stream" }));
  await done;
  return { id, hypothesis: finals.join(" "), payloads };
}
