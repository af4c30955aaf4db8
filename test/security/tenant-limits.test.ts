/**
 * Issue 13's findings about what one key (or one stream token) could do to the others, each as a
 * regression test against a real server: idle sockets that never configure, a stream token that
 * opened more than its one session, waiting sessions past the per-key limit, a stream limit that
 * had no default, and logs that went to stdout.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { CloseCode } from "@earshot/protocol";
import { createServer, DEFAULT_MAX_UNCONFIGURED_PER_KEY, type EarshotServer, memoryMaxStreams } from "@earshot/server";
import { sample, scrape } from "../helpers/prometheus.js";
import { killAllServers, serveEngine } from "../helpers/serve-process.js";
import { bursts, toBytes } from "../helpers/signals.js";
import { type Received, WireClient } from "../helpers/ws-client.js";

const ATTACKER = "attacker-key";
const TENANT = "tenant-key";
const CONFIG = { model: "test", language: "en", encoding: "pcm_s16le", sample_rate: 16000 };
const STREAM_PATH = "/v1/audio/transcriptions/stream";
/** More than a key may have waiting for `config`: the rest get 429. */
const IDLE_SOCKETS = DEFAULT_MAX_UNCONFIGURED_PER_KEY + 8;

async function configured(url: string, key: string): Promise<WireClient> {
  const client = await WireClient.open(url, key);
  client.sendJson({ type: "config", config: CONFIG });
  await client.waitFor((m) => m.type === "session_started");
  return client;
}

/** One utterance (two words) and its final. */
async function speakAndHear(client: WireClient): Promise<Received> {
  const before = client.finals().length;
  client.sendBinary(toBytes(bursts([{ toneMs: 400, silenceMs: 500 }])));
  return client.waitFor((m) => m.type === "transcript" && m.is_final === true && client.finals().length > before);
}

/** Opens a raw upgrade and returns its HTTP status (101 when let in; the socket is then kept). */
async function tryOpen(url: string, key: string, path = STREAM_PATH): Promise<WireClient | number> {
  try {
    return await WireClient.open(url, key, { path });
  } catch (error) {
    const status = /Unexpected server response: (\d+)/.exec(String(error))?.[1];
    if (status === undefined) throw error;
    return Number(status);
  }
}

async function mint(url: string, key: string, ttlSeconds = 60): Promise<string> {
  const response = await fetch(`${url}/v1/auth/token`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ ttl_seconds: ttlSeconds }),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { token: string }).token;
}

describe("security: idle sockets cannot lock other tenants out", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    // A small stream limit: before the fix, 10 sockets that never send config filled it.
    server = createServer({ engine: new TestEngine(), apiKeys: [ATTACKER, TENANT], admission: { maxStreams: 10 } });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it(`${IDLE_SOCKETS} idle sockets from one key: ${DEFAULT_MAX_UNCONFIGURED_PER_KEY} let in, the rest 429; a healthy tenant streams; the idle ones time out`, async () => {
    const attempts = await Promise.all(Array.from({ length: IDLE_SOCKETS }, () => tryOpen(url, ATTACKER)));
    const idle = attempts.filter((a): a is WireClient => typeof a !== "number");
    const refused = attempts.filter((a) => typeof a === "number");
    assert.equal(idle.length, DEFAULT_MAX_UNCONFIGURED_PER_KEY, "unconfigured connections per key");
    assert.ok(
      refused.every((status) => status === 429),
      `refusals: ${refused.join(",")}`,
    );
    const metrics = await scrape(url);
    assert.equal(sample(metrics, "earshot_unconfigured_connections"), DEFAULT_MAX_UNCONFIGURED_PER_KEY);
    assert.equal(sample(metrics, "earshot_held_streams"), 0, "idle sockets hold no stream");
    assert.equal((await fetch(`${url}/readyz`)).status, 200, "/readyz stays ready");

    const tenant = await configured(url, TENANT);
    assert.equal((await speakAndHear(tenant)).text, "alpha bravo");
    // The tenant can fill the server's other slots too: the idle sockets hold none of them.
    const more = await Promise.all(Array.from({ length: 9 }, () => configured(url, TENANT)));
    assert.equal(sample(await scrape(url), "earshot_held_streams"), 10);

    for (const client of [tenant, ...more]) client.ws.close();
    await Promise.all([tenant, ...more].map((client) => client.closed));
    // Each idle socket is closed with config_timeout (default 5 s) and frees its per-key slot.
    const closed = await Promise.all(idle.map((client) => client.closed));
    assert.ok(closed.every((c) => c.code === CloseCode.policyViolation));
    for (const client of idle) assert.equal((await client.waitForError("config_timeout", 100)).retryable, true);
    // (The server counts a socket as gone when its TCP connection closes, just after the client's close.)
    let again = await tryOpen(url, ATTACKER);
    for (let tries = 0; typeof again === "number" && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await tryOpen(url, ATTACKER);
    }
    assert.ok(again instanceof WireClient, `the key may connect again (${again})`);
    again.ws.close();
  });
});

describe("security: a stream token opens exactly one session", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [ATTACKER], resumeGraceMs: 10_000 });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("a used token naming its session may resume it, never start another (repeatedly, nor after stream_closed)", async () => {
    const token = await mint(url, ATTACKER);
    const first = await WireClient.open(url, undefined, { protocols: ["token", token] });
    first.sendJson({ type: "config", config: CONFIG });
    const started = await first.waitFor((m) => m.type === "session_started");
    let resumeToken = started.resume_token as string;
    const path = () => `${STREAM_PATH}?resume_token=${encodeURIComponent(resumeToken)}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const sneaky = await WireClient.open(url, undefined, { path: path(), protocols: ["token", token] });
      sneaky.sendJson({ type: "config", config: CONFIG });
      const error = await sneaky.waitForError("invalid_token");
      assert.equal(error.retryable, false);
      assert.equal((await sneaky.closed).code, CloseCode.policyViolation);
      const fresh = sneaky.messages.find((m) => m.type === "session_started");
      if (fresh) resumeToken = fresh.resume_token as string; // what the old code did: a new session
    }
    assert.equal(server.sessionCount, 1, "still the one session");
    // Its own session resumes with it, as the SDK's reconnects do.
    first.ws.terminate();
    await first.closed;
    const resumed = await WireClient.open(url, undefined, { path: path(), protocols: ["token", token] });
    resumed.sendJson({ type: "resume", resume_token: resumeToken, last_segment_id: -1 });
    await resumed.waitFor((m) => m.type === "session_resumed");
    resumed.sendJson({ type: "close_stream" });
    await resumed.waitFor((m) => m.type === "stream_closed");
    // After stream_closed the session is finished: the token opens nothing new.
    const late = await WireClient.open(url, undefined, { path: path(), protocols: ["token", token] });
    late.sendJson({ type: "config", config: CONFIG });
    await late.waitForError("invalid_token");
    assert.equal(server.sessionCount, 0);
  });

  it("the TTL bounds when the token may open its session, not only when it may connect", async () => {
    const token = await mint(url, ATTACKER, 1);
    const client = await WireClient.open(url, undefined, { protocols: ["token", token] });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    client.sendJson({ type: "config", config: CONFIG });
    await client.waitForError("invalid_token");
    assert.equal((await client.closed).code, CloseCode.policyViolation);
    assert.equal(
      client.messages.find((m) => m.type === "session_started"),
      undefined,
    );
  });
});

describe("security: sessions waiting for a resume stay within the per-key limit", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({
      engine: new TestEngine(),
      apiKeys: [ATTACKER, TENANT],
      maxStreamsPerKey: 4,
      maxWaitingDecodersPerKey: 2,
      resumeGraceMs: 30_000,
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("three rounds of 4 streams dropped: at most 4 wait, at most 2 keep a decoder; the oldest end", async () => {
    const firstTokens: string[] = [];
    for (let round = 0; round < 3; round++) {
      const clients = await Promise.all(Array.from({ length: 4 }, () => configured(url, ATTACKER)));
      if (round === 0) {
        for (const c of clients)
          firstTokens.push(c.messages.find((m) => m.type === "session_started")?.resume_token as string);
      }
      for (const client of clients) client.ws.terminate();
      await Promise.all(clients.map((client) => client.closed));
    }
    const metrics = await scrape(url);
    assert.equal(sample(metrics, "earshot_sessions_waiting_for_resume"), 4);
    assert.equal(sample(metrics, "earshot_waiting_decoders"), 2);
    assert.ok(sample(metrics, 'earshot_decoders_released_total{reason="key_budget"}') >= 2);
    // The first round's sessions ended: they cannot be resumed any more.
    const gone = await WireClient.open(url, ATTACKER);
    gone.sendJson({ type: "resume", resume_token: firstTokens[0], last_segment_id: -1 });
    await gone.waitForError("session_not_found");
    gone.ws.close();
    // Another key is not touched by any of it.
    const tenant = await configured(url, TENANT);
    assert.equal((await speakAndHear(tenant)).text, "alpha bravo");
    tenant.ws.close();
  });
});

describe("security: the stream limit has a default from memory", () => {
  it("an engine that declares its per-stream cost gets a finite limit, reported in /metrics", async () => {
    const cost = 512 * 1024 * 1024;
    const server = createServer({ engine: new TestEngine({ streamMemoryBytes: cost }), apiKeys: [TENANT] });
    try {
      const { url } = await server.listen({ port: 0 });
      await server.ready;
      assert.equal(server.maxStreams, memoryMaxStreams(cost));
      assert.ok(Number.isFinite(server.maxStreams) && server.maxStreams >= 1);
      assert.equal(sample(await scrape(url), "earshot_max_streams"), server.maxStreams);
    } finally {
      await server.close();
    }
    // 75% of what is above 1 GiB, per stream.
    assert.equal(memoryMaxStreams(100 * 1024 ** 2, 5 * 1024 ** 3), 30);
    assert.equal(memoryMaxStreams(100 * 1024 ** 2, 512 * 1024 ** 2), 1);
    assert.equal(memoryMaxStreams(undefined, 5 * 1024 ** 3), Number.POSITIVE_INFINITY);
  });
});

describe("security: earshot serve logs to stderr, stdout carries only its own lines", () => {
  after(() => killAllServers());

  it("a stream's log lines go to stderr as JSON; stdout has the ready line and nothing else", async () => {
    const served = await serveEngine("test", 0, TENANT, { args: ["--log-level", "info", "--no-demo"] });
    let stderr = "";
    served.process.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    let stdout = "";
    served.process.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    const client = await configured(served.url, TENANT);
    client.ws.close();
    await client.closed;
    for (let waited = 0; !stderr.includes("stream connected") && waited < 5000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const logLines = stderr.split("\n").filter((line) => line.startsWith("{"));
    assert.ok(
      logLines.some((line) => (JSON.parse(line) as { msg?: string }).msg === "stream connected"),
      `stderr: ${stderr.slice(0, 500)}`,
    );
    assert.doesNotMatch(stdout, /"level"|"msg"/, `stdout: ${stdout}`);
  });
});
