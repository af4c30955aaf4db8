/**
 * Stream tokens on a real server: `POST /v1/auth/token` mints with an API key; a token opens one
 * stream (subprotocol or Bearer), resumes that stream after a drop (also through the browser
 * transport of the SDK, across a cut proxy), and is refused (401 `invalid_token`) once used by
 * another stream, expired, or unknown. It counts against its key's limits.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { browserTransport, EarshotClient, type WebSocketConstructorLike } from "@earshot/client";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { FaultProxy } from "@earshot/test-support";
import WebSocket from "ws";
import { upgradeAnswer, waitUntil } from "./helpers/http-probe.js";
import { bursts, toBytes } from "./helpers/signals.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "token-test-key";
const STREAM = "/v1/audio/transcriptions/stream";
const CONFIG = { type: "config", config: { model: "test", language: "en" } };

async function post(url: string, auth: string | undefined, body?: string, method = "POST") {
  const response = await fetch(`${url}/v1/auth/token`, {
    method,
    headers: auth === undefined ? {} : { authorization: `Bearer ${auth}` },
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

async function mint(url: string, body?: string): Promise<string> {
  const answer = await post(url, KEY, body);
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  return answer.json.token as string;
}

/** A stream opened the browser way: the token in the subprotocols, no header. */
async function openWithToken(url: string, token: string, query = ""): Promise<WireClient> {
  return WireClient.open(url, undefined, { protocols: ["token", token], path: `${STREAM}${query}` });
}

describe("stream tokens", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY], maxStreamsPerKey: 2, maxTokensPerKey: 20 });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  it("mints only with an API key, over POST, with a bounded ttl", async () => {
    const minted = await post(url, KEY, JSON.stringify({ ttl_seconds: 60 }));
    assert.equal(minted.status, 200);
    assert.equal(minted.headers.get("cache-control"), "no-store");
    assert.match(minted.json.token as string, /^est_[A-Za-z0-9_-]{24}$/);
    assert.equal(minted.json.ttl_seconds, 60);
    const expiresIn = Date.parse(minted.json.expires_at as string) - Date.now();
    assert.ok(expiresIn > 55_000 && expiresIn <= 60_000, `expires in ${expiresIn} ms`);
    assert.equal((await post(url, KEY)).json.ttl_seconds, 300, "default ttl");

    assert.equal((await post(url, undefined)).json.code, "unauthorized");
    assert.equal((await post(url, "wrong-key")).status, 401);
    assert.equal((await post(url, minted.json.token as string)).json.code, "unauthorized", "a token cannot mint");
    assert.equal((await post(url, KEY, JSON.stringify({ ttl_seconds: 901 }))).json.code, "invalid_message");
    assert.equal((await post(url, KEY, JSON.stringify({ ttl: 5 }))).status, 400, "unknown fields refused");
    assert.equal((await post(url, KEY, "{nope")).json.code, "bad_json");
    const get = await post(url, KEY, undefined, "GET");
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
  });

  it("opens exactly one stream; a second use, an unknown or an expired token get 401 invalid_token", async () => {
    const token = await mint(url);
    const client = await openWithToken(url, token);
    assert.equal(client.ws.protocol, "token");
    client.sendJson(CONFIG);
    await client.waitFor((m) => m.type === "session_started");

    const again = await upgradeAnswer(url, token);
    assert.equal(again.status, 401);
    assert.equal(JSON.parse(again.body).code, "invalid_token");
    assert.match(JSON.parse(again.body).message, /already used/);
    client.ws.close();

    const unknown = await upgradeAnswer(url, "est_AAAAAAAAAAAAAAAAAAAAAAAA");
    assert.equal(JSON.parse(unknown.body).code, "invalid_token");
    assert.equal(JSON.parse((await upgradeAnswer(url, "not-a-key")).body).code, "unauthorized");

    const shortLived = await mint(url, JSON.stringify({ ttl_seconds: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const expired = await upgradeAnswer(url, shortLived);
    assert.equal(expired.status, 401);
    assert.match(JSON.parse(expired.body).message, /expired/);
  });

  it("resumes its own stream after a drop, but no other session of its key", async () => {
    const token = await mint(url);
    const first = await openWithToken(url, token);
    first.sendJson(CONFIG);
    const started = await first.waitFor((m) => m.type === "session_started");
    const resumeToken = started.resume_token as string;
    first.sendBinary(toBytes(bursts([{ toneMs: 400, silenceMs: 0 }])));
    await first.waitFor((m) => m.type === "ack" && m.received_samples === 6400);
    first.ws.terminate();
    await first.closed;

    assert.equal((await upgradeAnswer(url, token)).status, 401, "without ?resume_token= it is a new stream");
    const second = await openWithToken(url, token, `?resume_token=${resumeToken}`);
    second.sendJson({ type: "resume", resume_token: resumeToken, last_segment_id: -1 });
    const resumed = await second.waitFor((m) => m.type === "session_resumed");
    assert.equal(resumed.received_samples, 6400);
    second.sendJson({ type: "close_stream" });
    await second.waitFor((m) => m.type === "stream_closed");

    // A session the API key started is out of a token's reach, even when the token names it.
    const byKey = await WireClient.open(url, KEY);
    byKey.sendJson(CONFIG);
    const keySession = (await byKey.waitFor((m) => m.type === "session_started")).resume_token as string;
    const other = await openWithToken(url, await mint(url), `?resume_token=${keySession}`);
    other.sendJson({ type: "resume", resume_token: keySession, last_segment_id: -1 });
    await other.waitForError("session_not_found");
    byKey.ws.close();
    other.ws.close();
    await Promise.all([byKey.closed, other.closed, second.closed]);
  });

  it("counts against its key's stream limit, and a refused upgrade does not use it up", async () => {
    const holders = [await WireClient.open(url, KEY), await WireClient.open(url, KEY)];
    const token = await mint(url);
    const refused = await upgradeAnswer(url, token);
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.body).code, "too_many_streams");
    for (const holder of holders) holder.ws.close();
    await Promise.all(holders.map((h) => h.closed));
    await waitUntil(async () => (await upgradeAnswer(url, token)).status === 101, "the token still opens its stream");
  });

  it("bounds the unused tokens of a key (429 too_many_tokens with Retry-After)", async () => {
    const small = createServer({ engine: new TestEngine(), apiKeys: [KEY], maxTokensPerKey: 2 });
    const { url: smallUrl } = await small.listen({ port: 0 });
    try {
      await mint(smallUrl, JSON.stringify({ ttl_seconds: 30 }));
      await mint(smallUrl, JSON.stringify({ ttl_seconds: 30 }));
      const full = await post(smallUrl, KEY);
      assert.equal(full.status, 429);
      assert.equal(full.json.code, "too_many_tokens");
      assert.equal(full.json.retryable, true);
      assert.ok(Number(full.headers.get("retry-after")) >= 29);
    } finally {
      await small.close();
    }
  });

  it("carries an SDK stream through a cut connection (browser transport, token as the key)", async () => {
    await using proxy = new FaultProxy({ target: { host: "127.0.0.1", port: Number(new URL(url).port) }, seed: 6 });
    const proxyUrl = await proxy.listen();
    const client = new EarshotClient({
      url: proxyUrl,
      token: await mint(url),
      config: { model: "test" },
      transport: browserTransport(WebSocket as unknown as WebSocketConstructorLike),
      reconnect: { baseDelayMs: 50, maxDelayMs: 200 },
    });
    const finals: string[] = [];
    const resumed: boolean[] = [];
    client.on("final", (f) => finals.push(f.text));
    client.on("state", (s) => s.from === "reconnecting" && s.to === "open" && resumed.push(s.resumed === true));
    await client.connect();
    const signal = bursts([
      { toneMs: 600, silenceMs: 600 },
      { toneMs: 600, silenceMs: 600 },
    ]);
    client.send(signal.subarray(0, signal.length / 2));
    await waitUntil(() => finals.length === 1, "the first final");
    assert.equal(proxy.cutAll() > 0, true);
    client.send(signal.subarray(signal.length / 2));
    const result = await client.close();
    assert.deepEqual(resumed, [true]);
    assert.deepEqual(finals, ["alpha bravo charlie", "golf hotel india"]);
    assert.equal(result.lostMs, 0);
  });
});
