/**
 * Deepgram `/v1/listen` at the server's limits and through its failures, with the deterministic
 * test engine: per-key limits (429) and admission (503, each channel of a multichannel stream
 * admitted as a stream, none left behind when one is refused), a slow engine (the socket is not
 * read meanwhile, nothing is lost), an engine that fails mid-stream (1011 NET-0000) and a server
 * shutdown (the finals, then 1012), each in Deepgram's shape.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { interleavePcm } from "@earshot/audio";
import { TestEngine } from "@earshot/engines";
import { createServer } from "@earshot/server";
import { WebSocket } from "ws";
import { type DeepgramMessage, isResults, linear16, until } from "./helpers/deepgram-live.js";
import { sample, scrape } from "./helpers/prometheus.js";
import { bursts } from "./helpers/signals.js";

const KEY = "deepgram-limits-key";
const MAX_BACKLOG_MS = 1000;
/** 12 s of speech-like bursts: far more than the backlog limit. */
const LONG_SPEECH = bursts(Array.from({ length: 12 }, () => ({ toneMs: 600, silenceMs: 400 })));
const SPEECH = bursts([
  { toneMs: 1000, silenceMs: 600 },
  { toneMs: 1000, silenceMs: 600 },
]);

interface Opened {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly ws?: WebSocket;
  readonly messages: DeepgramMessage[];
}

async function open(url: string, query: string): Promise<Opened> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/listen?${query}`, {
    headers: { authorization: `Token ${KEY}` },
  });
  ws.on("error", () => {});
  const messages: DeepgramMessage[] = [];
  ws.on("message", (data) => messages.push(JSON.parse(String(data)) as DeepgramMessage));
  return new Promise((resolve) => {
    ws.once("open", () => resolve({ status: 101, body: "", headers: {}, ws, messages }));
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body, headers: response.headers, messages }),
      );
    });
  });
}

const errCode = (opened: Opened) => (JSON.parse(opened.body) as { err_code: string }).err_code;

describe("Deepgram /v1/listen at the limits", { timeout: 120_000 }, () => {
  it("503 Service Unavailable past admission; a refused multichannel stream leaves nothing behind", async () => {
    await using server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      maxStreamsPerKey: 2,
      admission: { maxStreams: 1 },
    });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const stereo = await open(url, "encoding=linear16&sample_rate=16000&channels=2&multichannel=true");
    assert.equal(stereo.status, 503);
    assert.equal(errCode(stereo), "Service Unavailable");
    assert.ok(stereo.headers["retry-after"]);
    assert.equal(server.sessionCount, 0, "the first channel's session was ended again");
    const first = await open(url, "encoding=linear16&sample_rate=16000");
    assert.equal(first.status, 101);
    const full = await open(url, "encoding=linear16&sample_rate=16000");
    assert.equal(full.status, 503);
    first.ws?.close();
    await once(first.ws as WebSocket, "close");
    const samples = await scrape(url);
    assert.equal(sample(samples, 'earshot_deepgram_streams_total{result="over_capacity"}'), 2);
  });

  it("429 when the key holds its maximum of open streams", async () => {
    await using server = createServer({ engine: new TestEngine(), apiKeys: [KEY], maxStreamsPerKey: 1 });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const first = await open(url, "encoding=mulaw");
    assert.equal(first.status, 101);
    const second = await open(url, "encoding=mulaw");
    assert.equal(second.status, 429);
    assert.equal(errCode(second), "TOO_MANY_REQUESTS");
    assert.equal(second.headers["retry-after"], "5");
    first.ws?.close();
  });

  it("an engine that fails mid-stream closes it with 1011 NET-0000", async () => {
    await using server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const opened = await open(url, "encoding=linear16&sample_rate=16000&model=test-crash");
    const ws = opened.ws as WebSocket;
    const closed = once(ws, "close") as Promise<[number, Buffer]>;
    ws.send(linear16(SPEECH));
    const [code, reason] = await closed;
    assert.deepEqual([code, String(reason)], [1011, "NET-0000"]);
  });

  it("a slow engine holds the sender back (the socket is not read); the transcript is complete", async () => {
    const engine = new TestEngine();
    await using server = createServer({ engine, apiKeys: [KEY], maxEngineBacklogMs: MAX_BACKLOG_MS });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const transcribe = async (model: string) => {
      const opened = await open(url, `encoding=linear16&sample_rate=16000&model=${model}`);
      const ws = opened.ws as WebSocket;
      const closed = once(ws, "close") as Promise<[number, Buffer]>;
      const audio = linear16(LONG_SPEECH);
      for (let at = 0; at < audio.length; at += 3200) ws.send(audio.subarray(at, at + 3200));
      ws.send(JSON.stringify({ type: "CloseStream" }));
      const [code] = await closed;
      assert.equal(code, 1000);
      return opened.messages
        .filter(isResults)
        .filter((m) => m.is_final)
        .map((m) => `${m.start}+${m.duration} ${m.channel.alternatives[0]?.transcript}`);
    };
    const expected = await transcribe("test");
    assert.equal(expected.length, 12);
    assert.deepEqual(await transcribe("test-slow"), expected);
    assert.ok(engine.peakBacklogMs > MAX_BACKLOG_MS, `the engine did fall behind (${engine.peakBacklogMs} ms)`);
    assert.ok(engine.peakBacklogMs < MAX_BACKLOG_MS + 3000, `backlog peaked at ${engine.peakBacklogMs} ms`);
  });

  it("a server shutdown sends the finals it can, then closes with 1012", async () => {
    const server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const opened = await open(url, "encoding=linear16&sample_rate=16000&channels=2&multichannel=true");
    const ws = opened.ws as WebSocket;
    const closed = once(ws, "close") as Promise<[number, Buffer]>;
    ws.send(linear16(interleavePcm([SPEECH, SPEECH])));
    await until(() => opened.messages.some((m) => isResults(m) && m.is_final), "a final");
    await server.close();
    const [code, reason] = await closed;
    assert.deepEqual([code, String(reason)], [1012, "server_shutting_down"]);
    const finals = opened.messages.filter(isResults).filter((m) => m.is_final);
    assert.deepEqual(
      [...new Set(finals.map((m) => m.channel_index.join("/")))].sort(),
      ["0/2", "1/2"],
      "both channels' finals went out",
    );
  });
});
