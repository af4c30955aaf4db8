/**
 * `--max-streams-per-key` across nodes on every compatibility surface, with real processes on
 * loopback (a `redis-server`, two `earshot serve --redis` nodes of the test engine, a key limit of
 * 2): Deepgram's `/v1/listen` (429 TOO_MANY_REQUESTS), AssemblyAI's `/v3/ws` (Error 3009, close
 * 3009), a Twilio media stream with a stream token (closed 1008 at `start`, before any audio is
 * decoded) and OpenAI's batch route (the SDK's RateLimitError) each refuse the stream that would
 * take the key past its limit on the other node; a multichannel Deepgram stream and a two-track
 * Twilio call count a stream per channel, and so does earshot's own two-channel stream, in Redis
 * from its `config`; a stream let go gives its place back across the cluster.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { writeWav } from "@earshot/audio";
import OpenAI, { RateLimitError, toFile } from "openai";
import WebSocket from "ws";
import { waitUntil } from "./helpers/http-probe.js";
import { sample, scrape } from "./helpers/prometheus.js";
import { type RedisProcess, startRedis } from "./helpers/redis-server.js";
import { killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { bursts } from "./helpers/signals.js";
import { mulawFrames, TwilioSimulator } from "./helpers/twilio-simulator.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "cluster-compat-key";
const LIMIT = 2;
const LEASE_MS = 1500;
const SPEECH = bursts([{ toneMs: 600, silenceMs: 400 }]);

interface Opened {
  readonly status: number;
  readonly body: string;
  readonly ws: WebSocket | undefined;
}

/** A Deepgram `/v1/listen` upgrade: the open socket, or the refusal's status and body. */
function deepgram(
  url: string,
  query = "encoding=linear16&sample_rate=16000",
  authorization = `Token ${KEY}`,
): Promise<Opened> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/listen?${query}`, { headers: { authorization } });
  ws.on("error", () => {});
  return new Promise((resolve) => {
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

interface AaiSession {
  readonly ws: WebSocket;
  /** The first frame: `Begin`, or the `Error` of a refusal. */
  readonly first: { type: string; error_code?: number; error?: string };
  readonly closed: Promise<number>;
}

/** An AssemblyAI `/v3/ws` stream, once its first frame came. */
async function assemblyAi(url: string): Promise<AaiSession> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v3/ws?sample_rate=16000`, {
    headers: { Authorization: KEY },
  });
  const closed = once(ws, "close").then(([code]) => Number(code));
  const [data] = await once(ws, "message");
  return { ws, first: JSON.parse(String(data)) as AaiSession["first"], closed };
}

async function closeAll(sockets: readonly (WebSocket | undefined)[]): Promise<void> {
  await Promise.all(
    sockets.map(async (ws) => {
      if (!ws || ws.readyState === WebSocket.CLOSED) return;
      const closed = once(ws, "close");
      ws.close();
      await closed;
    }),
  );
}

function clusterNode(redis: RedisProcess, id: string): Promise<ServeProcess> {
  return serveEngine("test", 0, KEY, {
    args: [
      ...["--redis", redis.url, "--node-id", id, "--node-lease-ms", String(LEASE_MS)],
      ...["--max-streams-per-key", String(LIMIT)],
    ],
  });
}

async function mint(url: string): Promise<string> {
  const response = await fetch(`${url}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { token: string }).token;
}

describe("the per-key stream limit across nodes, on every compatibility surface", () => {
  let redis: RedisProcess;
  let a: ServeProcess;
  let b: ServeProcess;

  /** The key's open streams across the cluster, as Redis counts them. */
  const inRedis = async (): Promise<number> => {
    const digest = createHash("sha256").update(KEY).digest("hex").slice(0, 32);
    const counts = await redis.client.hvals(`earshot:key:${digest}:streams`);
    return counts.reduce((sum, count) => sum + Number(count), 0);
  };
  const counted = (streams: number) => waitUntil(async () => (await inRedis()) === streams, `${streams} in Redis`);

  before(async () => {
    redis = await startRedis();
    a = await clusterNode(redis, "node-a");
    b = await clusterNode(redis, "node-b");
  });
  after(async () => {
    killAllServers();
    await redis?.dispose();
  });

  it("Deepgram /v1/listen: 429 TOO_MANY_REQUESTS on the other node; a multichannel stream counts a stream per channel", async () => {
    const held = [await deepgram(a.url), await deepgram(b.url)];
    assert.deepEqual(
      held.map((opened) => opened.status),
      [101, 101],
    );
    for (const node of [a, b]) {
      const refused = await deepgram(node.url);
      assert.equal(refused.status, 429);
      const body = JSON.parse(refused.body) as { err_code: string; err_msg: string };
      assert.equal(body.err_code, "TOO_MANY_REQUESTS");
      assert.match(body.err_msg, /other nodes/);
    }
    await closeAll(held.map((opened) => opened.ws));
    await counted(0);
    const stereo = await deepgram(a.url, "encoding=linear16&sample_rate=16000&channels=2&multichannel=true");
    assert.equal(stereo.status, 101);
    await counted(2);
    assert.equal((await deepgram(b.url)).status, 429, "the stereo stream on A holds both of the key's streams");
    await closeAll([stereo.ws]);
    await counted(0);
    const again = await deepgram(b.url);
    assert.equal(again.status, 101, "its place is given back");
    await closeAll([again.ws]);
    await counted(0);
  });

  it("AssemblyAI /v3/ws: Error 3009 and close 3009 on the other node", async () => {
    await counted(0);
    const held = [await assemblyAi(a.url), await assemblyAi(b.url)];
    assert.deepEqual(
      held.map((session) => session.first.type),
      ["Begin", "Begin"],
    );
    const refused = await assemblyAi(b.url);
    assert.equal(refused.first.type, "Error");
    assert.equal(refused.first.error_code, 3009);
    assert.match(String(refused.first.error), /^Unauthorized Connection: Too many concurrent sessions: .*other nodes/);
    assert.equal(await refused.closed, 3009);
    await closeAll(held.map((session) => session.ws));
    await counted(0);
  });

  it("a Twilio call with a stream token: closed 1008 at start on the other node; a two-track call counts two", async () => {
    const before = await scrape(b.url);
    const twoTracks = await TwilioSimulator.connect({ baseUrl: a.url });
    twoTracks.start({ customParameters: { token: await mint(a.url) }, tracks: ["inbound", "outbound"] });
    await counted(2);
    const refused = await TwilioSimulator.connect({ baseUrl: b.url });
    refused.start({ customParameters: { token: await mint(b.url) }, tracks: ["inbound"] });
    const frames = mulawFrames(SPEECH);
    for (const [i, frame] of frames.entries()) refused.media("inbound", i + 1, i * 20, frame);
    assert.equal((await refused.closed).code, 1008);
    const after = await scrape(b.url);
    const fault = 'earshot_twilio_faults_total{code="twilio_too_many_streams"}';
    assert.equal(sample(after, fault) - sample(before, fault), 1);
    const audio = "earshot_audio_received_seconds_total";
    assert.equal(sample(after, audio), sample(before, audio), "no audio of the refused call was decoded");
    twoTracks.stop();
    assert.equal((await twoTracks.closed).code, 1000);
    await counted(0);
    // Given back: a one-track call on B now gets in (and counts one).
    const oneTrack = await TwilioSimulator.connect({ baseUrl: b.url });
    oneTrack.start({ customParameters: { token: await mint(b.url) }, tracks: ["inbound"] });
    await counted(1);
    oneTrack.stop();
    await oneTrack.closed;
    await counted(0);
  });

  it("OpenAI's batch route: RateLimitError too_many_streams while the key's streams are on the other node", async () => {
    const held = [await deepgram(a.url), await deepgram(a.url)];
    await counted(LIMIT);
    const client = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const file = () => toFile(Buffer.from(writeWav(16_000, [SPEECH])), "clip.wav", { type: "audio/wav" });
    await assert.rejects(
      client.audio.transcriptions.create({ file: await file(), model: "whisper-1" }),
      (error: unknown) =>
        error instanceof RateLimitError && error.code === "too_many_streams" && /other nodes/.test(error.message),
    );
    await closeAll(held.map((opened) => opened.ws));
    await counted(0);
    const result = await client.audio.transcriptions.create({ file: await file(), model: "whisper-1" });
    assert.equal(typeof result.text, "string");
  });

  it("a stream token minted on one node opens a Deepgram stream or a Twilio call on the other, once", async () => {
    await counted(0);
    const forDeepgram = await mint(a.url);
    const opened = await deepgram(b.url, undefined, `Bearer ${forDeepgram}`);
    assert.equal(opened.status, 101);
    const reused = await deepgram(a.url, undefined, `Bearer ${forDeepgram}`);
    assert.equal(reused.status, 401, "used on node B: refused on node A");
    assert.equal((JSON.parse(reused.body) as { err_code: string }).err_code, "INVALID_AUTH");
    await closeAll([opened.ws]);
    await counted(0);

    const before = await scrape(a.url);
    const forTwilio = await mint(b.url);
    const call = await TwilioSimulator.connect({ baseUrl: a.url });
    call.start({ customParameters: { token: forTwilio }, tracks: ["inbound"] });
    await counted(1);
    const again = await TwilioSimulator.connect({ baseUrl: b.url });
    again.start({ customParameters: { token: forTwilio }, tracks: ["inbound"] });
    assert.equal((await again.closed).code, 1008, "used on node A: refused on node B");
    call.stop();
    assert.equal((await call.closed).code, 1000);
    const fault = 'earshot_twilio_faults_total{code="twilio_unauthorized"}';
    assert.equal(sample(await scrape(a.url), fault), sample(before, fault), "node A let its call in");
    await counted(0);
  });

  it("earshot's own two-channel stream: its second stream is in the cluster's count at once, not at the next heartbeat", async () => {
    await counted(0);
    // A node whose heartbeat comes every 20 s: only the write at `config` can show the second stream.
    const slow = await serveEngine("test", 0, KEY, {
      args: [...["--redis", redis.url, "--node-id", "node-slow", "--node-lease-ms", "60000"]],
    });
    const client = await WireClient.open(slow.url, KEY);
    client.sendJson({ type: "config", config: { model: "test", language: "en", channels: 2 } });
    await client.waitFor((m) => m.type === "session_started");
    await counted(2);
    assert.equal((await deepgram(a.url)).status, 429, "the key's two streams are on the slow node");
    client.ws.close();
    await client.closed;
    await counted(0);
  });
});
