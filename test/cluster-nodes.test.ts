/**
 * `earshot serve --redis` nodes as real processes, with a real `redis-server` and a real `haproxy`
 * running (a copy of) the shipped `deploy/haproxy.cfg`, all on loopback: the config is valid; eval
 * speech streamed through HAProxy is transcribed as it is straight from a node, and streams spread
 * over both nodes; a key's stream limit holds whichever node a stream lands on; a node killed with
 * `kill -9` stops counting against its key once its lease runs out; node ids are in every log line
 * and on `/metrics`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type HaproxyProcess, SHIPPED_HAPROXY_CFG, startHaproxy, testConfig } from "./helpers/haproxy.js";
import { upgradeAnswer, waitUntil } from "./helpers/http-probe.js";
import { type RedisProcess, startRedis } from "./helpers/redis-server.js";
import { kill9, killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { speechStream } from "./helpers/speech.js";
import { transcribeStream } from "./helpers/transcribe-stream.js";
import { WireClient } from "./helpers/ws-client.js";

const run = promisify(execFile);
const KEY = "cluster-nodes-key";
const LEASE_MS = 1500;
const CONFIG = { type: "config", config: { model: "test", language: "en" } };
const CLIPS = ["ps-goforward", "ps-cards-001"];

const metrics = async (url: string): Promise<string> => (await fetch(`${url}/metrics`)).text();

const transcribe = (url: string, pcm: Int16Array): Promise<string[]> => transcribeStream(url, KEY, pcm, CONFIG.config);

async function configured(url: string): Promise<WireClient> {
  const client = await WireClient.open(url, KEY);
  client.sendJson(CONFIG);
  await client.waitFor((m) => m.type === "session_started");
  return client;
}

function clusterNode(redis: RedisProcess, id: string): Promise<ServeProcess> {
  return serveEngine("test", 0, KEY, {
    args: ["--redis", redis.url, "--node-id", id, "--node-lease-ms", String(LEASE_MS), "--max-streams-per-key", "2"],
    env: { EARSHOT_LOG_LEVEL: "info" },
  });
}

describe("the shipped HAProxy config", () => {
  it("is valid, and so is the copy the tests run", async () => {
    await run("haproxy", ["-c", "-f", SHIPPED_HAPROXY_CFG]);
    const dir = mkdtempSync(join(tmpdir(), "earshot-haproxy-check-"));
    try {
      const copy = join(dir, "haproxy.cfg");
      const text = testConfig(["127.0.0.1:1", "127.0.0.1:2"], 8080, join(dir, "admin.sock"));
      for (const setting of ["balance leastconn", "timeout tunnel", "hard-stop-after", "/readyz"]) {
        assert.ok(text.includes(setting), setting);
      }
      writeFileSync(copy, text);
      await run("haproxy", ["-c", "-f", copy]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("earshot serve --redis nodes behind HAProxy", () => {
  let redis: RedisProcess;
  let a: ServeProcess;
  let b: ServeProcess;
  let haproxy: HaproxyProcess;

  before(async () => {
    redis = await startRedis();
    a = await clusterNode(redis, "node-a");
    b = await clusterNode(redis, "node-b");
    haproxy = await startHaproxy([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
    for (const node of [a, b]) {
      await waitUntil(async () => /earshot_cluster_nodes 2/.test(await metrics(node.url)), "both nodes seen");
    }
  });
  after(async () => {
    await haproxy?.stop();
    killAllServers();
    await redis?.dispose();
  });

  it("transcribes eval speech through HAProxy as a node does directly, spreading streams over both nodes", async () => {
    const pcm = speechStream(CLIPS, 600);
    const direct = await transcribe(a.url, pcm);
    assert.ok(direct.length >= 2, JSON.stringify(direct));
    const [first, second] = await Promise.all([transcribe(haproxy.url, pcm), transcribe(haproxy.url, pcm)]);
    assert.deepEqual(first, direct);
    assert.deepEqual(second, direct);
    // leastconn: of two streams at once, node B (which had none) got one.
    assert.match(await metrics(b.url), /earshot_audio_received_seconds_total [1-9]/);
  });

  it("holds the key's stream limit wherever a stream lands", async () => {
    const open = [await configured(haproxy.url), await configured(haproxy.url)];
    for (const node of [a, b]) assert.match(await metrics(node.url), /earshot_active_streams 1/, "one on each node");
    for (let attempt = 0; attempt < 3; attempt++) {
      const refused = await upgradeAnswer(haproxy.url, KEY);
      assert.equal(refused.status, 429);
      assert.equal(JSON.parse(refused.body).code, "too_many_streams");
    }
    for (const client of open) client.ws.close();
    await Promise.all(open.map((client) => client.closed));
  });

  it("names the node in every log line and on /metrics", async () => {
    assert.match(await metrics(a.url), /earshot_node_info\{node="node-a"\} 1/);
    const lines = a
      .stderr()
      .split("\n")
      .filter((line) => line.startsWith("{"));
    assert.ok(lines.length > 0);
    for (const line of lines) assert.equal((JSON.parse(line) as { node?: string }).node, "node-a", line);
  });

  it("keeps streams through HAProxy running while Redis restarts, and decides node-locally meanwhile", async () => {
    const pcm = speechStream(CLIPS, 600);
    const direct = await transcribe(a.url, pcm);
    const client = await configured(haproxy.url);
    const half = Math.floor(pcm.length / 2 / 1600) * 1600;
    client.sendBinary(Buffer.from(pcm.buffer, pcm.byteOffset, half * 2));
    await client.waitFor((m) => m.type === "ack" && Number(m.received_samples) >= half, 10_000, "the first half acked");
    await redis.stop();
    client.sendBinary(Buffer.from(pcm.buffer, pcm.byteOffset + half * 2, (pcm.length - half) * 2));
    // New streams still get in (node-locally), tokens minted while Redis is away work on their node.
    const token = await (
      await fetch(`${b.url}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${KEY}` } })
    ).json();
    assert.equal((await upgradeAnswer(b.url, (token as { token: string }).token)).status, 101);
    assert.match(await metrics(b.url), /earshot_cluster_redis_up 0/);
    await redis.restart();
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed", 30_000, "stream_closed");
    const finals = client.messages.filter((m) => m.type === "transcript" && m.is_final === true).map((m) => m.text);
    assert.deepEqual(finals, direct, "the running stream was not touched");
    for (const node of [a, b]) {
      await waitUntil(async () => /earshot_cluster_nodes 2/.test(await metrics(node.url)), "both nodes back", 10_000);
    }
    const lines = b.stderr().split("\n");
    assert.ok(lines.some((line) => line.includes('"code":"cluster_redis_unavailable"')));
    assert.ok(lines.some((line) => line.includes('"code":"cluster_redis_restored"')));
  });

  it("stops counting a kill -9ed node's streams once its lease runs out", async () => {
    const held = [await configured(a.url), await configured(a.url)];
    assert.equal((await upgradeAnswer(b.url, KEY)).status, 429, "node A holds the key's 2 streams");
    await kill9(a);
    await Promise.all(held.map((client) => client.closed));
    await waitUntil(async () => (await upgradeAnswer(b.url, KEY)).status === 101, "node A's lease expired", 10_000);
    await waitUntil(async () => /earshot_cluster_nodes 1/.test(await metrics(b.url)), "node B sees node A gone");
    // HAProxy's health checks take node A out: streams through it still work.
    const through = await transcribe(haproxy.url, speechStream(CLIPS, 600));
    assert.ok(through.length >= 2);
  });
});
