/**
 * Hostile Deepgram clients, seeded: hundreds of mutated `/v1/listen` query strings (parameters
 * repeated, retyped, enormous, unknown, prototype keys, broken escapes), then streams sent hostile
 * frames (earshot's hostile messages, mutated Deepgram messages, garbage audio of every encoding,
 * empty and oversized frames, cuts mid-stream). Every handshake is answered 101 or with Deepgram's
 * 400 body; every stream ends with a close code Deepgram uses; the server never crashes, and a
 * clean stream through `@deepgram/sdk` after the storm gives exactly the transcript it gave before.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { between, mulberry32, pick, type Random } from "@earshot/test-support";
import { WebSocket } from "ws";
import { finalText, linear16, listenWithSdk } from "./helpers/deepgram-live.js";
import { hostileMessage } from "./helpers/hostile-inputs.js";
import { scrape } from "./helpers/prometheus.js";
import { bursts } from "./helpers/signals.js";

const KEY = "deepgram-fuzz-key";
const SEED = 0x17_de_e9_2a;
const QUERIES = 400;
const STREAMS = 60;
const FRAMES_PER_STREAM = 50;
const SPEECH = bursts([
  { toneMs: 1000, silenceMs: 500 },
  { toneMs: 600, silenceMs: 700 },
]);

const NAMES = [
  "model",
  "language",
  "encoding",
  "sample_rate",
  "channels",
  "multichannel",
  "interim_results",
  "endpointing",
  "utterance_end_ms",
  "vad_events",
  "punctuate",
  "smart_format",
  "keyterm",
  "numerals",
  "redact",
  "keywords",
  "diarize",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "",
  "é",
];

const VALUES = [
  "true",
  "false",
  "TRUE",
  "1",
  "0",
  "-1",
  "16000",
  "8000",
  "48000",
  "1e308",
  "NaN",
  "9".repeat(40),
  "linear16",
  "mulaw",
  "alaw",
  "opus",
  "flac",
  "nova-3",
  "en-US",
  "multi",
  "pci",
  "ssn",
  "numbers",
  "aggressive_numbers",
  "",
  " ",
  "%",
  "%E0%A4%A",
  "%00",
  "%FF%FE",
  "a=b=c",
  "€∂ƒ",
  "\u0000",
  "x".repeat(3000),
];

/** A query string built raw: good pairs mixed with mutated ones and broken syntax. */
function hostileQuery(random: Random): string {
  const base = pick(random, [
    ["encoding=linear16", "sample_rate=16000"],
    ["encoding=mulaw", "sample_rate=8000"],
    ["encoding=opus", "sample_rate=48000"],
    ["encoding=linear16", "sample_rate=44100", "channels=2", "multichannel=true"],
    [],
  ]);
  const pairs = [...base];
  for (let i = between(random, 1, 6); i > 0; i--) {
    const name = pick(random, NAMES);
    const value = pick(random, VALUES);
    const form = between(random, 0, 4);
    if (form === 0) pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
    else if (form === 1) pairs.push(`${name}=${value}`.replace(/[\s#]/g, "%20"));
    else if (form === 2) pairs.push(encodeURIComponent(name));
    else if (form === 3) pairs.push(pick(random, ["&", "=", "==", "&&=&", "?", "%", "%zz"]));
    else pairs.splice(between(random, 0, pairs.length), 0, `${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  }
  return pairs.join("&");
}

/** A mutated Deepgram message, or garbage audio, or one of earshot's hostile messages. */
function hostileFrame(random: Random): string | Buffer {
  const roll = random();
  if (roll < 0.3) return hostileMessage(random).data;
  if (roll < 0.6) {
    const type = pick(random, ["KeepAlive", "Finalize", "CloseStream", "Configure", "keepalive", "", null, 5]);
    const extra = pick(random, [
      {},
      { channel: pick(random, [0, 1, -1, 99, 1.5, "0", null, [], 1e308]) },
      { type: { nested: true } },
      { __proto__: { polluted: true } },
      { processors: "x".repeat(between(random, 0, 10_000)) },
    ]);
    return JSON.stringify({ type, ...extra });
  }
  const length = pick(random, [0, 1, 2, 3, 159, 160, 321, 4000, between(random, 1, 70_000)]);
  return Buffer.from(Array.from({ length }, () => between(random, 0, 255)));
}

interface Upgrade {
  readonly status: number;
  readonly body: string;
  readonly ws: WebSocket | undefined;
}

async function open(url: string, query: string): Promise<Upgrade> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/listen?${query}`, {
    headers: { authorization: `Token ${KEY}` },
  });
  ws.on("error", () => {});
  return new Promise<Upgrade>((resolve) => {
    ws.once("open", () => resolve({ status: 101, body: "", ws }));
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, ws: undefined }));
    });
  });
}

describe("Deepgram /v1/listen under hostile clients", { timeout: 240_000 }, () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  const clean = async () => {
    const run = await listenWithSdk(url, KEY, { encoding: "linear16", sample_rate: 16000 }, linear16(SPEECH), 3200);
    assert.equal(run.closeCode, 1000);
    return finalText(run.messages);
  };

  it(`${QUERIES} hostile query strings: 101 or Deepgram's 400, and each opened stream closes cleanly`, async (t) => {
    const random = mulberry32(SEED);
    const before = await clean();
    assert.ok(before.length > 0);
    const statuses = new Map<number, number>();
    for (let i = 0; i < QUERIES; i++) {
      const query = hostileQuery(random);
      const answer = await open(url, query);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status === 101) {
        const ws = answer.ws as WebSocket;
        const messages: string[] = [];
        ws.on("message", (data) => messages.push(String(data)));
        const closed = once(ws, "close") as Promise<[number, Buffer]>;
        ws.send(JSON.stringify({ type: "CloseStream" }));
        const [code] = await closed;
        assert.equal(code, 1000, query);
        assert.equal((JSON.parse(messages.at(-1) ?? "{}") as { type?: string }).type, "Metadata", query);
        continue;
      }
      assert.equal(answer.status, 400, query);
      const body = JSON.parse(answer.body) as { err_code?: unknown; err_msg?: unknown; request_id?: unknown };
      assert.ok(body.err_code === "Bad Request" || body.err_code === "INVALID_QUERY_PARAMETER", query);
      assert.ok(typeof body.err_msg === "string" && body.err_msg.length > 0, query);
      assert.ok(typeof body.request_id === "string", query);
    }
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(101) ?? 0) > QUERIES / 10, "some hostile queries are still valid ones");
    assert.ok((statuses.get(400) ?? 0) > QUERIES / 10, "most are refused");
    assert.equal(await clean(), before);
  });

  it(`${STREAMS} streams of hostile frames: Deepgram's close codes, never a crash`, { timeout: 120_000 }, async (t) => {
    const random = mulberry32(SEED + 1);
    const before = await clean();
    const codes = new Map<number, number>();
    const queries = [
      "encoding=linear16&sample_rate=16000&interim_results=true",
      "encoding=linear16&sample_rate=22050&channels=2",
      "encoding=linear16&sample_rate=16000&channels=2&multichannel=true&vad_events=true",
      "encoding=mulaw&sample_rate=8000&utterance_end_ms=1000",
      "encoding=alaw&sample_rate=8000&channels=3&multichannel=true",
      "encoding=opus&sample_rate=48000",
    ];
    const streams: Promise<void>[] = [];
    for (let s = 0; s < STREAMS; s++) {
      const answer = await open(url, pick(random, queries));
      assert.equal(answer.status, 101);
      const ws = answer.ws as WebSocket;
      const closed = once(ws, "close") as Promise<[number, Buffer]>;
      for (let f = 0; f < FRAMES_PER_STREAM && ws.readyState === WebSocket.OPEN; f++) {
        if (random() < 0.3) ws.send(SPEECH.subarray(0, between(random, 1, 8000)));
        ws.send(hostileFrame(random));
      }
      const end = random();
      if (end < 0.3) ws.terminate();
      else if (end < 0.6 && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "CloseStream" }));
      else if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      streams.push(
        closed.then(([code]) => {
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(streams);
    t.diagnostic(`close codes: ${JSON.stringify(Object.fromEntries(codes))}`);
    for (const code of codes.keys()) assert.ok([1000, 1005, 1006, 1008, 1009].includes(code), `close code ${code}`);
    assert.ok((codes.get(1008) ?? 0) > 0, "some streams were closed as Deepgram closes bad input");
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal(await clean(), before);
    const results = [...(await scrape(url)).entries()].filter(
      ([series, value]) => series.startsWith("earshot_deepgram_streams_total") && value > 0,
    );
    t.diagnostic(
      results.map(([series, value]) => `${series.replace("earshot_deepgram_streams_total", "")} ${value}`).join(", "),
    );
    // The server sees a terminated socket's close a moment after the client does.
    for (let i = 0; i < 100 && server.sessionCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.sessionCount, 0, "every stream's sessions ended");
  });
});
