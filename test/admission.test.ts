/**
 * Admission control on a real server: a stream the server cannot serve is refused at the upgrade
 * with 503 `over_capacity` and Retry-After, while streams in progress carry on and sessions waiting
 * for a resume can still be resumed (by a raw client and by the SDK, whose reconnect names the
 * session in its URL).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { nodeTransport, type Transport } from "@earshot/client";
import { type Engine, type EngineLoad, TestEngine } from "@earshot/engines";
import { CloseCode } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import { upgradeAnswer, waitUntil } from "./helpers/http-probe.js";
import { sample, scrape } from "./helpers/prometheus.js";
import { reopenings, sendPaced, startRun } from "./helpers/sdk-run.js";
import { bursts, toBytes } from "./helpers/signals.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "admission-key";
const OTHER_KEY = "admission-other-key";
const CONFIG = { model: "test", language: "en" };
/** Two utterances for the test engine: 600 ms and 400 ms of tone, each ending at a pause. */
const TWO_WORDS_AND_PAUSE = bursts([{ toneMs: 400, silenceMs: 500 }]);

async function configured(url: string, key = KEY): Promise<WireClient> {
  const client = await WireClient.open(url, key);
  client.sendJson({ type: "config", config: CONFIG });
  await client.waitFor((m) => m.type === "session_started");
  return client;
}

/** Sends audio and waits for the final it produces (the n-th final on this connection). */
async function speakAndHear(client: WireClient, pcm = TWO_WORDS_AND_PAUSE): Promise<Received> {
  const before = client.finals().length;
  client.sendBinary(toBytes(pcm));
  await client.waitFor(() => client.finals().length > before, 5000, "a final");
  return client.finals().at(-1) as Received;
}

async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function assertOverCapacity(answer: { status: number; headers: Record<string, unknown>; body: string }): void {
  assert.equal(answer.status, 503);
  assert.equal(answer.headers["retry-after"], "5");
  const body = JSON.parse(answer.body) as { code: string; retryable: boolean; message: string };
  assert.equal(body.code, "over_capacity");
  assert.equal(body.retryable, true);
  assert.match(body.message, /limit is 2/);
}

describe("admission: maxStreams", () => {
  let server: EarshotServer;
  let url: string;
  let first: WireClient;
  let second: WireClient;

  before(async () => {
    server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY, OTHER_KEY],
      admission: { maxStreams: 2 },
      resumeGraceMs: 10_000,
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("refuses a third stream at the upgrade with 503, Retry-After and over_capacity; /readyz says at_capacity", async () => {
    assert.equal((await readyz(url)).status, 200);
    first = await configured(url);
    // A connection holds no slot before its config: the server is not full yet...
    const idle = await WireClient.open(url, KEY);
    assert.equal((await readyz(url)).status, 200);
    second = await configured(url);
    // ...and when it is full by the time that config comes, the config is refused.
    idle.sendJson({ type: "config", config: CONFIG });
    assert.equal((await idle.waitForError("over_capacity")).retryable, true);
    assert.equal((await idle.closed).code, CloseCode.tryAgainLater);
    assertOverCapacity(await upgradeAnswer(url, KEY));
    assertOverCapacity(await upgradeAnswer(url, OTHER_KEY));
    await assert.rejects(WireClient.open(url, KEY), /Unexpected server response: 503/);
    const ready = await readyz(url);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, { status: "at_capacity", engine: "test", reason: "max_streams" });
  });

  it("streams in progress keep getting transcripts while new ones are refused", async () => {
    const final = await speakAndHear(first);
    assert.equal(final.text, "alpha bravo");
    assertOverCapacity(await upgradeAnswer(url, KEY));
    assert.equal((await speakAndHear(second)).segment_id, 0);
    assert.ok(first.messages.every((m) => m.type !== "error"));
  });

  it("a stream that ends frees its slot for a new one", async () => {
    second.sendJson({ type: "close_stream" });
    assert.equal((await second.closed).code, CloseCode.normal);
    await waitUntil(async () => (await readyz(url)).status === 200, "/readyz is ready again");
    second = await configured(url, OTHER_KEY);
    assertOverCapacity(await upgradeAnswer(url, KEY));
  });

  it("a waiting session gives its decoder to a new stream when full, and resumes from its last final once there is room", async () => {
    const started = first.messages.find((m) => m.type === "session_started") as Received;
    const token = started.resume_token as string;
    const lastFinal = first.finals().at(-1) as Received;
    first.ws.terminate();
    await first.closed;
    await waitUntil(
      async () => sample(await scrape(url), "earshot_sessions_waiting_for_resume") === 1,
      "the dropped session waits",
    );
    // Its decoder is the one a new stream can have: the server is not full for it.
    assert.equal((await readyz(url)).status, 200);
    const third = await configured(url, OTHER_KEY);
    const metrics = await scrape(url);
    assert.equal(sample(metrics, 'earshot_decoders_released_total{reason="node_budget"}'), 1);
    assert.equal(sample(metrics, "earshot_waiting_decoders"), 0);
    // Full now: two streams decoding. New streams are refused, from either key...
    assertOverCapacity(await upgradeAnswer(url, OTHER_KEY));
    assertOverCapacity(await upgradeAnswer(url, KEY));
    // ...and so is a token of another key, or an unknown one.
    assertOverCapacity(await upgradeAnswer(url, OTHER_KEY, `/v1/audio/transcriptions/stream?resume_token=${token}`));
    assertOverCapacity(await upgradeAnswer(url, KEY, "/v1/audio/transcriptions/stream?resume_token=rt_unknown"));
    const path = `/v1/audio/transcriptions/stream?resume_token=${encodeURIComponent(token)}`;
    // The resume is let in, but its session needs a decoder again: not while full.
    const early = await WireClient.open(url, KEY, { path });
    early.sendJson({ type: "resume", resume_token: token, last_segment_id: 0 });
    assert.equal((await early.waitForError("over_capacity")).retryable, true);
    assert.equal((await early.closed).code, CloseCode.tryAgainLater);
    // A connection let in to resume that asks for a new session instead gets none while full.
    const sneaky = await WireClient.open(url, KEY, { path });
    sneaky.sendJson({ type: "config", config: CONFIG });
    await sneaky.waitForError("over_capacity");
    assert.equal((await sneaky.closed).code, CloseCode.tryAgainLater);
    // Once a stream ends, the resume goes on in a fresh decoder from the end of its last final.
    third.sendJson({ type: "close_stream" });
    await third.closed;
    const resumed = await WireClient.open(url, KEY, { path });
    resumed.sendJson({ type: "resume", resume_token: token, last_segment_id: 0 });
    const answer = await resumed.waitFor((m) => m.type === "session_resumed");
    assert.equal(answer.received_samples, (lastFinal.end_ms as number) * 16);
    const final = await speakAndHear(resumed);
    assert.equal(final.segment_id, 1);
    assert.equal(server.sessionCount, 2);
    resumed.ws.close();
    second.ws.close();
    await Promise.all([resumed.closed, second.closed]);
  });

  it("counts refusals by reason", async () => {
    const samples = await scrape(url);
    assert.ok(sample(samples, 'earshot_connections_refused_total{reason="max_streams"}') >= 9);
    assert.equal(sample(samples, 'earshot_errors_total{code="over_capacity"}'), 3);
  });
});

describe("admission: the SDK resumes through a full server", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY], admission: { maxStreams: 1 } });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("a dropped SDK connection is resumed at once, not refused until its session expires", async () => {
    let transport: Transport | undefined;
    const run = startRun({
      url,
      apiKey: KEY,
      config: { model: "test" },
      reconnect: { baseDelayMs: 20, maxDelayMs: 200, random: () => 0.5 },
      transport: (request, handlers) => {
        transport = nodeTransport(request, handlers);
        return transport;
      },
    });
    await run.client.connect();
    const signal = bursts([
      { toneMs: 600, silenceMs: 500 },
      { toneMs: 400, silenceMs: 500 },
    ]);
    await sendPaced(run, signal, {
      speed: 10,
      before: async (index) => {
        if (index !== 6) return;
        transport?.terminate?.();
        // The server is full meanwhile: the waiting session holds the only slot.
        await waitUntil(() => run.client.state === "open" && reopenings(run).length === 1, "the SDK reconnects");
      },
    });
    await run.client.close();
    assert.deepEqual(
      reopenings(run).map((s) => s.resumed),
      [true],
    );
    assert.deepEqual(
      run.finals.map((f) => f.text),
      ["alpha bravo charlie", "foxtrot golf"],
    );
    assert.deepEqual(run.errors, []);
  });
});

/** The test engine, reporting whatever load the test sets. */
function withReportedLoad(inner: TestEngine, reported: { load: EngineLoad }): Engine {
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    get ready() {
      return inner.ready;
    },
    load: () => inner.load(),
    openStream: (options) => inner.openStream(options),
    loadSnapshot: () => reported.load,
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
}

describe("admission: engine load", () => {
  // Two decoding threads on a server given two cores: the engine's demand is utilization × 2 cores.
  const reported = { load: { streams: 0, utilization: 0, threads: 2, maxBacklogMs: 0 } as EngineLoad };
  const engine = withReportedLoad(new TestEngine(), reported);
  let server: EarshotServer;
  let url: string;

  before(async () => {
    // The default utilization limit (0.9) and a backlog limit, which is off unless set.
    server = createServer({ engine, apiKeys: [KEY], cores: 2, admission: { maxBacklogMs: 1500 } });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("refuses new streams while the server is at 90% utilization or 1.5 s behind, and admits again after", async () => {
    const running = await configured(url);
    reported.load = { streams: 1, utilization: 0.93, threads: 2, maxBacklogMs: 0 };
    const busy = await upgradeAnswer(url, KEY);
    assert.equal(busy.status, 503);
    assert.match(JSON.parse(busy.body).message, /93% busy/); // the main thread is not counted by default
    assert.deepEqual((await readyz(url)).body, { status: "at_capacity", engine: "test", reason: "utilization" });
    assert.equal((await speakAndHear(running)).text, "alpha bravo", "the running stream carries on");

    reported.load = { streams: 1, utilization: 0.5, threads: 2, maxBacklogMs: 2000 };
    const behind = await upgradeAnswer(url, KEY);
    assert.equal(behind.status, 503);
    assert.equal(JSON.parse(behind.body).code, "over_capacity");
    assert.equal((await readyz(url)).body.reason, "backlog");

    reported.load = { streams: 1, utilization: 0.7, threads: 2, maxBacklogMs: 1499 };
    assert.equal((await upgradeAnswer(url, KEY)).status, 101);
    assert.equal((await readyz(url)).status, 200);

    const samples = await scrape(url);
    assert.equal(sample(samples, "earshot_engine_utilization_ratio"), 0.7);
    assert.equal(sample(samples, "earshot_server_utilization_ratio"), 0.7);
    assert.equal(sample(samples, "earshot_engine_backlog_max_seconds"), 1.499);
    assert.equal(sample(samples, 'earshot_connections_refused_total{reason="utilization"}'), 1);
    assert.equal(sample(samples, 'earshot_connections_refused_total{reason="backlog"}'), 1);
    running.ws.close();
  });
});

describe("admission: the main thread's own load", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    // The test engine reports no decoding demand: only the main thread can make this server busy.
    server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      cores: 1, // one core: the main thread's load is the whole server's
      admission: { maxUtilization: 0.6, countMainThread: true },
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("refuses new streams while the main thread is saturated, whatever the engine says, and admits again after", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a second of samples after start-up
    assert.equal((await upgradeAnswer(url, KEY)).status, 101);
    const blockedUntil = Date.now() + 4800; // the event loop busy for most of the 5 s window
    while (Date.now() < blockedUntil) {}
    const busy = await upgradeAnswer(url, KEY);
    assert.equal(busy.status, 503);
    assert.equal(JSON.parse(busy.body).code, "over_capacity");
    assert.equal((await readyz(url)).body.reason, "utilization");
    await waitUntil(
      async () => (await upgradeAnswer(url, KEY)).status === 101,
      "admitted once the main thread is idle",
      12_000,
    );
  });
});
