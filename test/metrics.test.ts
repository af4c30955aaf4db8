/**
 * `GET /metrics` on a real server after real traffic: real speech streamed in real time, an error,
 * a refused upgrade, a dropped and resumed session. The counters must match what was sent, and the
 * latency histograms must hold one plausible observation per utterance.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { upgradeAnswer, waitUntil } from "./helpers/http-probe.js";
import { parseSamples, type Samples, sample, scrape } from "./helpers/prometheus.js";
import { speechStream } from "./helpers/speech.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "metrics-key";
const CONFIG = { model: "test", language: "en" };
/** Two real utterances (2.8 s and 1.1 s), each followed by 700 ms of silence. */
const SPEECH = speechStream(["ps-goforward", "ps-cards-001"], 700);
const CHUNK_SAMPLES = 1600; // 100 ms

async function configured(url: string): Promise<WireClient> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: CONFIG });
  await client.waitFor((m) => m.type === "session_started");
  return client;
}

/** Sends `pcm` in 100 ms chunks at real time, on an absolute clock. */
async function sendRealTime(client: WireClient, pcm: Int16Array): Promise<void> {
  const startedAt = Date.now();
  for (let at = 0, i = 1; at < pcm.length; at += CHUNK_SAMPLES, i++) {
    const chunk = pcm.subarray(at, at + CHUNK_SAMPLES);
    client.sendBinary(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + i * 100 - Date.now())));
  }
}

const histogram = (samples: Samples, name: string) => ({
  count: sample(samples, `${name}_count`),
  sum: sample(samples, `${name}_sum`),
  bucket: (le: string) => sample(samples, `${name}_bucket{le="${le}"}`),
});

describe("GET /metrics", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY], resumeGraceMs: 5000 });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("is Prometheus text with every earshot metric at zero before any stream, and the process metrics", async () => {
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const samples = parseSamples(await response.text());
    for (const series of [
      "earshot_websocket_connections",
      "earshot_active_streams",
      "earshot_sessions_waiting_for_resume",
      "earshot_audio_received_seconds_total",
      "earshot_engine_audio_seconds_total",
      "earshot_engine_processing_seconds_total",
      "earshot_engine_backlog_max_seconds",
      "earshot_final_latency_seconds_count",
      "earshot_first_partial_latency_seconds_count",
      'earshot_errors_total{code="over_capacity"}',
      'earshot_connections_refused_total{reason="max_streams"}',
      'earshot_resumes_total{result="resumed"}',
      'earshot_errors_total{code="slow_consumer"}',
      'earshot_peers_dropped_total{reason="not_reading"}',
      'earshot_peers_dropped_total{reason="no_pong"}',
      "earshot_partials_coalesced_total",
      "earshot_forced_finals_total",
      "earshot_outbound_waiting_bytes",
    ]) {
      assert.equal(sample(samples, series), 0, series);
    }
    assert.ok(sample(samples, "process_cpu_user_seconds_total") > 0);
    assert.ok(samples.has("nodejs_eventloop_lag_seconds"));
  });

  it("after real speech in real time: audio seconds match what was sent, one latency per utterance", async () => {
    const client = await configured(url);
    const during = await scrape(url);
    assert.equal(sample(during, "earshot_active_streams"), 1);
    assert.equal(sample(during, "earshot_websocket_connections"), 1);
    await sendRealTime(client, SPEECH);
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    await client.closed;
    const finals = client.finals();
    const utterances = finals.length;
    assert.ok(utterances >= 2, `finals: ${finals.map((f) => f.text).join(" | ")}`);
    const partials = client.messages.filter((m) => m.type === "transcript" && m.is_final === false);
    const firstPartials = new Set(partials.map((m) => m.segment_id));

    await waitUntil(async () => sample(await scrape(url), "earshot_websocket_connections") === 0, "the socket closed");
    const samples = await scrape(url);
    const sentSeconds = SPEECH.length / 16_000;
    assert.ok(Math.abs(sample(samples, "earshot_audio_received_seconds_total") - sentSeconds) < 1e-9);
    // The test engine decodes whole 20 ms frames and reports them when the stream ends.
    assert.ok(Math.abs(sample(samples, "earshot_engine_audio_seconds_total") - sentSeconds) < 0.02);
    assert.equal(sample(samples, "earshot_active_streams"), 0);

    const final = histogram(samples, "earshot_final_latency_seconds");
    assert.equal(final.count, utterances, "one observation per final sent");
    // Each final waits for the test engine's 300 ms pause after the utterance's last word, which
    // arrives in real time: about 0.3 s each (0 if the arrival looked up were the newest audio's).
    const meanFinal = final.sum / final.count;
    assert.ok(meanFinal > 0.1 && meanFinal < 1.5, `mean final latency ${meanFinal} s`);
    assert.equal(final.bucket("+Inf"), final.count);

    const partial = histogram(samples, "earshot_first_partial_latency_seconds");
    assert.equal(partial.count, firstPartials.size, "one observation per utterance that had a partial");
    // The first partial comes after the first 200 ms word of the utterance has arrived.
    const meanPartial = partial.sum / partial.count;
    assert.ok(meanPartial > 0.1 && meanPartial < 2, `mean first-partial latency ${meanPartial} s`);
  });

  it("counts errors by code, refused upgrades by reason, and resumes; a dropped session shows as waiting", async () => {
    const bad = await WireClient.open(url, KEY);
    bad.sendJson("{not json");
    await bad.waitForError("bad_json");
    bad.ws.close();
    await bad.closed;
    assert.equal((await upgradeAnswer(url, "wrong-key")).status, 401);
    assert.equal((await upgradeAnswer(url, KEY, "/v1/elsewhere")).status, 404);

    const dropped = await configured(url);
    const token = (dropped.messages.find((m) => m.type === "session_started") as Received).resume_token;
    dropped.ws.terminate();
    await waitUntil(
      async () => sample(await scrape(url), "earshot_sessions_waiting_for_resume") === 1,
      "the session waits for a resume",
    );
    const resumed = await WireClient.open(url, KEY);
    resumed.sendJson({ type: "resume", resume_token: token, last_segment_id: -1 });
    await resumed.waitFor((m) => m.type === "session_resumed");
    const lost = await WireClient.open(url, KEY);
    lost.sendJson({ type: "resume", resume_token: "rt_no-such-session-token", last_segment_id: -1 });
    await lost.waitForError("session_not_found");

    const samples = await scrape(url);
    assert.equal(sample(samples, 'earshot_errors_total{code="bad_json"}'), 1);
    assert.equal(sample(samples, 'earshot_errors_total{code="session_not_found"}'), 1);
    assert.equal(sample(samples, 'earshot_connections_refused_total{reason="unauthorized"}'), 1);
    assert.equal(sample(samples, 'earshot_connections_refused_total{reason="not_found"}'), 1);
    assert.equal(sample(samples, 'earshot_resumes_total{result="resumed"}'), 1);
    assert.equal(sample(samples, 'earshot_resumes_total{result="not_found"}'), 1);
    assert.equal(sample(samples, "earshot_sessions_waiting_for_resume"), 0);
    assert.equal(sample(samples, "earshot_active_streams"), 1);
    assert.equal(sample(samples, "earshot_websocket_connections"), 2);
    resumed.ws.close();
    lost.ws.close();
  });
});

describe("GET /metrics options", () => {
  it("a bearer token, when set, is required; metrics can be turned off", async () => {
    const guarded = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      metrics: { bearerToken: "scrape-secret", processMetrics: false },
    });
    const off = createServer({ engine: new TestEngine(), apiKeys: [KEY], metrics: { enabled: false } });
    try {
      const { url } = await guarded.listen({ port: 0 });
      const missing = await fetch(`${url}/metrics`);
      assert.equal(missing.status, 401);
      assert.equal(((await missing.json()) as { code: string }).code, "unauthorized");
      assert.equal((await fetch(`${url}/metrics`, { headers: { Authorization: "Bearer nope" } })).status, 401);
      assert.equal((await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } })).status, 401);
      const samples = await scrape(url, { Authorization: "Bearer scrape-secret" });
      assert.equal(sample(samples, "earshot_active_streams"), 0);
      assert.equal(samples.has("process_cpu_user_seconds_total"), false);
      const { url: offUrl } = await off.listen({ port: 0 });
      assert.equal((await fetch(`${offUrl}/metrics`)).status, 404);
    } finally {
      await Promise.all([guarded.close(), off.close()]);
    }
  });
});
