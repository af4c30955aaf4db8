/**
 * Issue 18 part 3, two nodes: real `redis-server`, two `earshot serve --redis` processes (test
 * engine) and a real `haproxy` running the shipped config. An SDK stream through HAProxy is on one
 * node when that node gets SIGTERM mid-utterance: the node lets the utterance end, closes the
 * stream with 1012 `draining`, the SDK reconnects at once and goes on on the other node, and the
 * transcript equals an uninterrupted run's: no final lost, none twice, no audio lost. (Whether the
 * other node resumes the session from Redis or answers `session_not_found` and the SDK starts a
 * new session from its last final, the result must be the same.) And a draining node says so in
 * its Redis hash, which the other nodes export.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { type EarshotClientOptions, nodeTransport } from "@earshot/client";
import { mulberry32 } from "@earshot/test-support";
import { type HaproxyProcess, startHaproxy } from "./helpers/haproxy.js";
import { waitUntil } from "./helpers/http-probe.js";
import { type RedisProcess, startRedis } from "./helpers/redis-server.js";
import { assertExactlyOnce, reopenings, sendPaced, startRun, summary, transcriptText } from "./helpers/sdk-run.js";
import { killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { bursts, toBytes } from "./helpers/signals.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "drain-cluster-key";
const ADMIN = "drain-cluster-admin";
/** Twelve utterances (200 ms to 1.7 s of tone) with pauses: 19.8 s. */
const SIGNAL = bursts(
  [900, 1300, 400, 1700, 700, 1100, 200, 1500, 600, 1000, 1200, 800].map((toneMs, i) => ({
    toneMs,
    silenceMs: 400 + (i % 3) * 300,
  })),
);
const SPEED = 4;

const metrics = async (url: string): Promise<string> => (await fetch(`${url}/metrics`)).text();

const node = (redis: RedisProcess, id: string): Promise<ServeProcess> =>
  serveEngine("test", 0, KEY, {
    args: ["--no-demo", "--redis", redis.url, "--node-id", id, "--node-lease-ms", "1500", "--admin-key", ADMIN],
  });

const options = (url: string): EarshotClientOptions => ({
  url,
  apiKey: KEY,
  config: { language: "en", timestamp_granularity: "word" },
  reconnect: { baseDelayMs: 50, maxDelayMs: 300, random: mulberry32(0x5eed_0018) },
  heartbeatTimeoutMs: 2000,
  closeTimeoutMs: 30_000,
  transport: nodeTransport,
});

function exited(served: ServeProcess): Promise<number | null> {
  const child = served.process;
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return once(child, "exit").then(([code]) => code as number | null);
}

/** The node that holds the one stream open now. */
async function holder(nodes: readonly ServeProcess[]): Promise<ServeProcess> {
  for (const candidate of nodes) {
    if (/^earshot_active_streams 1$/m.test(await metrics(candidate.url))) return candidate;
  }
  throw new Error("no node holds the stream");
}

describe("draining a node of two behind HAProxy", () => {
  let redis: RedisProcess;
  let a: ServeProcess;
  let b: ServeProcess;
  let haproxy: HaproxyProcess;

  before(async () => {
    redis = await startRedis();
    a = await node(redis, "node-a");
    b = await node(redis, "node-b");
    haproxy = await startHaproxy([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
  });
  after(async () => {
    await haproxy?.stop();
    killAllServers();
    await redis?.dispose();
  });

  it("an SDK stream on the drained node goes on on the other: the same finals, none lost or twice", {
    timeout: 90_000,
  }, async (t) => {
    const reference = startRun(options(haproxy.url));
    await reference.client.connect();
    await sendPaced(reference, SIGNAL, { speed: Number.POSITIVE_INFINITY });
    assert.equal((await reference.client.close()).code, 1000);
    assert.equal(reference.finals.length, 12);

    const run = startRun(options(haproxy.url));
    await run.client.connect();
    let drained: ServeProcess | undefined;
    // Mid-utterance: the 5th tone runs 6.8–7.5 s.
    await sendPaced(run, SIGNAL, {
      speed: SPEED,
      before: async (i) => {
        if (i !== 70) return;
        drained = await holder([a, b]);
        drained.process.kill("SIGTERM");
      },
    });
    const result = await run.client.close();
    assert.ok(drained);
    assert.equal(await exited(drained), 0, "the drained node exited cleanly");
    t.diagnostic(`drained ${drained === a ? "node-a" : "node-b"}; ${run.sessions.length} sessions`);

    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
    assertExactlyOnce(run);
    assert.equal(transcriptText(run.finals), transcriptText(reference.finals));
    assert.deepEqual(summary(run.finals), summary(reference.finals));
    // The move: closed with draining, reconnected without a backoff wait, on the other node.
    const moved = run.states.find((s) => s.to === "reconnecting");
    assert.equal(moved?.error?.code, "draining");
    assert.equal(moved?.delayMs, 0);
    assert.ok(reopenings(run).length >= 1);
    assert.deepEqual(
      run.errors.map((e) => e.code),
      [],
    );
  });

  it("HAProxy does not pass admin calls on: they are for the nodes' own network", async () => {
    const through = await fetch(`${haproxy.url}/v1/admin/drain`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(through.status, 403);
    for (const n of [a, b]) if (n.process.exitCode === null) assert.equal((await fetch(`${n.url}/readyz`)).status, 200);
  });

  it("a draining node's Redis hash says draining, and the other nodes export it", { timeout: 60_000 }, async () => {
    const live = [a, b].find((n) => n.process.exitCode === null) as ServeProcess;
    const c = await node(redis, "node-c");
    await waitUntil(async () => /earshot_cluster_nodes 2/.test(await metrics(live.url)), "node C seen", 10_000);
    const client = await WireClient.open(c.url, KEY);
    client.sendJson({ type: "config", config: { model: "test", language: "en" } });
    await client.waitFor((m) => m.type === "session_started");
    client.sendBinary(toBytes(bursts([{ toneMs: 1500, silenceMs: 0 }])));
    await client.waitFor((m) => m.type === "transcript" && m.is_final === false, 10_000, "a partial");

    const started = await fetch(`${c.url}/v1/admin/drain`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(started.status, 202);
    await waitUntil(
      async () => (await redis.client.hget("earshot:node:node-c", "draining")) === "1",
      "draining in Redis",
    );
    await waitUntil(
      async () => /earshot_cluster_node_draining\{node="node-c"\} 1/.test(await metrics(live.url)),
      "the other node exports it",
      10_000,
    );
    assert.match(
      await metrics(live.url),
      new RegExp(`earshot_cluster_node_draining\\{node="${live === a ? "node-a" : "node-b"}"\\} 0`),
    );

    client.sendBinary(toBytes(bursts([{ toneMs: 300, silenceMs: 1000 }])));
    assert.deepEqual(await client.closed, { code: 1012, reason: "draining" });
    assert.equal(client.finals().length, 1);
    assert.equal(await exited(c), 0);
  });
});
