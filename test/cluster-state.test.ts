/**
 * Cluster state in a real Redis (a `redis-server` the test starts on a free loopback port): two
 * servers with `cluster` options, as `earshot serve --redis` builds them. A stream token minted on
 * node A opens a stream on node B, once only, cluster-wide; a key's stream limit holds across both
 * nodes; session records are written as a session progresses and expire; `/metrics` shows the node
 * and the cluster view. Without Redis (it is killed, then restarted) each node decides alone, and
 * streams already running go on.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { upgradeAnswer, waitUntil } from "./helpers/http-probe.js";
import { type RedisProcess, startRedis } from "./helpers/redis-server.js";
import { bursts, toBytes } from "./helpers/signals.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "cluster-test-key";
const OTHER_KEY = "cluster-other-key";
const CONFIG = { type: "config", config: { model: "test", language: "en" } };
const LEASE_MS = 1500;
const RESUME_GRACE_MS = 1000;

interface Node {
  readonly server: EarshotServer;
  readonly url: string;
  readonly id: string;
}

async function startNode(redis: RedisProcess, id: string): Promise<Node> {
  const server = createServer({
    engine: new TestEngine(),
    apiKeys: [KEY, OTHER_KEY],
    maxStreamsPerKey: 3,
    resumeGraceMs: RESUME_GRACE_MS,
    cluster: { redisUrl: redis.url, nodeId: id, leaseMs: LEASE_MS },
  });
  const { url } = await server.listen({ port: 0 });
  await server.ready;
  return { server, url, id };
}

async function mint(url: string): Promise<string> {
  const response = await fetch(`${url}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { token: string }).token;
}

async function configured(url: string, credential: string): Promise<WireClient> {
  const client = await WireClient.open(url, credential);
  client.sendJson(CONFIG);
  await client.waitFor((m) => m.type === "session_started");
  return client;
}

async function closeAll(clients: readonly WireClient[]): Promise<void> {
  for (const client of clients) client.ws.close();
  await Promise.all(clients.map((client) => client.closed));
}

const metrics = async (url: string): Promise<string> => (await fetch(`${url}/metrics`)).text();

describe("cluster state in Redis", () => {
  let redis: RedisProcess;
  let a: Node;
  let b: Node;

  /** The key's open streams across the cluster, as Redis counts them. */
  const keyStreamsInRedis = async (): Promise<number> => {
    const digest = createHash("sha256").update(KEY).digest("hex").slice(0, 32);
    const counts = await redis.client.hvals(`earshot:key:${digest}:streams`);
    return counts.reduce((sum, count) => sum + Number(count), 0);
  };

  before(async () => {
    redis = await startRedis();
    a = await startNode(redis, "node-a");
    b = await startNode(redis, "node-b");
    for (const node of [a, b]) {
      await waitUntil(async () => /earshot_cluster_nodes 2/.test(await metrics(node.url)), `${node.id} sees both`);
    }
  });
  after(async () => {
    await Promise.all([a?.server.close(), b?.server.close()]);
    await redis?.dispose();
  });

  it("lets a stream token minted on one node open a stream on another, once", async () => {
    const token = await mint(a.url);
    const stream = await configured(b.url, token);
    for (const node of [a, b]) {
      const again = await upgradeAnswer(node.url, token);
      assert.equal(again.status, 401, node.id);
      assert.equal(JSON.parse(again.body).code, "invalid_token");
    }
    assert.equal((await upgradeAnswer(b.url, "est_AAAAAAAAAAAAAAAAAAAAAAAA")).status, 401, "unknown stays unknown");
    // Nothing secret is stored: keys are digests.
    const keys = await redis.client.keys("earshot:*");
    assert.ok(keys.some((k) => k.startsWith("earshot:token:")));
    assert.ok(!keys.some((k) => k.includes(token) || k.includes(KEY)));
    await closeAll([stream]);
  });

  it("holds a key's stream limit across nodes, for that key only", async () => {
    const open = [await configured(a.url, KEY), await configured(b.url, KEY), await configured(a.url, KEY)];
    for (const node of [a, b]) {
      const refused = await upgradeAnswer(node.url, KEY);
      assert.equal(refused.status, 429, node.id);
      assert.equal(JSON.parse(refused.body).code, "too_many_streams");
    }
    assert.match(await metrics(b.url), /earshot_connections_refused_total\{reason="too_many_streams"\} [1-9]/);
    const other = await configured(b.url, OTHER_KEY);
    // A stream closed anywhere gives its place back everywhere.
    open[0]?.ws.close();
    await open[0]?.closed;
    await waitUntil(async () => (await upgradeAnswer(b.url, KEY)).status === 101, "a place freed on node A", 5000);
    await closeAll([...open.slice(1), other]);
  });

  it("admits exactly the limit, and a token exactly once, when upgrades race on both nodes", async () => {
    // The winners hold their sockets (their places) until every answer is in: a stream that closed
    // would give its place to a later upgrade of the race, rightly.
    const racing = await Promise.all(
      [a, b, a, b, a, b].map((node) => upgradeAnswer(node.url, KEY, undefined, { hold: true })),
    );
    for (const answer of racing) answer.socket?.destroy();
    assert.equal(
      racing.filter((answer) => answer.status === 101).length,
      3,
      JSON.stringify(racing.map((r) => r.status)),
    );
    assert.equal(racing.filter((answer) => answer.status === 429).length, 3);
    await waitUntil(async () => (await keyStreamsInRedis()) === 0, "the places came back");
    const token = await mint(a.url);
    // Three at once: within the key's limit (each counts while it is let in), so the token decides.
    const uses = await Promise.all([a, b, a].map((node) => upgradeAnswer(node.url, token)));
    assert.deepEqual(uses.map((use) => use.status).sort(), [101, 401, 401], uses.map((u) => u.body).join(" | "));
  });

  it("writes session records as sessions progress, and lets them expire", async () => {
    const client = await configured(a.url, KEY);
    const started = client.messages.find((m) => m.type === "session_started");
    assert.ok(started);
    client.sendBinary(
      toBytes(
        bursts([
          { toneMs: 400, silenceMs: 600 },
          { toneMs: 400, silenceMs: 600 },
        ]),
      ),
    );
    await client.waitFor((m) => m.type === "transcript" && m.is_final === true);
    const records = await redis.client.keys("earshot:session:*");
    const fields = await Promise.all(records.map((key) => redis.client.hgetall(key)));
    const record = fields.find((f) => f.node === "node-a" && Number(f.last_segment_id) >= 0);
    assert.ok(record, JSON.stringify(fields));
    assert.deepEqual(JSON.parse(record.config ?? "{}"), CONFIG.config);
    assert.ok(Number(record.last_final_end_ms) > 0);
    assert.equal(record.resume_token?.length, 32);
    assert.notEqual(record.key, KEY);
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    await client.closed;
    const name = records[fields.indexOf(record)] as string;
    const ttl = await redis.client.pttl(name);
    assert.ok(ttl > 0 && ttl <= RESUME_GRACE_MS + LEASE_MS, `ttl ${ttl}`);
    await waitUntil(async () => (await redis.client.exists(name)) === 0, "the record expired", 10_000);
  });

  it("shows the node and the cluster view on /metrics", async () => {
    const open = [await configured(a.url, KEY), await configured(a.url, OTHER_KEY)];
    await waitUntil(
      async () => /earshot_cluster_node_active_streams\{node="node-a"\} 2/.test(await metrics(b.url)),
      "node B sees node A's load",
    );
    const text = await metrics(b.url);
    assert.match(text, /earshot_node_info\{node="node-b"\} 1/);
    assert.match(text, /earshot_cluster_nodes 2/);
    assert.match(text, /earshot_cluster_redis_up 1/);
    assert.match(text, /earshot_cluster_node_capacity\{node="node-a"\} \+Inf/);
    assert.match(text, /earshot_cluster_node_draining\{node="node-a"\} 0/);
    // Each cluster metric has its row in the metrics table of docs/operations.md.
    const docs = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");
    const names = new Set([...text.matchAll(/^# TYPE (earshot_(?:node|cluster)_\w+)/gm)].map((m) => m[1]));
    assert.equal(names.size, 8);
    for (const name of names) assert.match(docs, new RegExp(`^\\| \`${name}[\`{]`, "m"), `${name} documented`);
    await closeAll(open);
  });

  it("decides node-locally while Redis is down, without touching running streams, and shares again after", async () => {
    const running = await configured(a.url, KEY);
    const minted = await mint(b.url);
    await redis.stop();
    running.sendBinary(toBytes(bursts([{ toneMs: 400, silenceMs: 600 }])));
    await running.waitFor((m) => m.type === "transcript" && m.is_final === true, 10_000, "a final with Redis down");

    // Node-local: each node counts only its own streams of the key (the limit is 3 per node now).
    const local = [await configured(b.url, KEY), await configured(b.url, KEY), await configured(b.url, KEY)];
    assert.equal((await upgradeAnswer(b.url, KEY)).status, 429, "node B's own limit still holds");
    await closeAll(local);
    // A token minted before the outage was adopted by nobody yet: only its own node knows it.
    assert.equal((await upgradeAnswer(a.url, minted)).status, 401, "node A cannot look it up");
    const byToken = await configured(b.url, minted);
    const downMetrics = await metrics(b.url);
    assert.match(downMetrics, /earshot_cluster_redis_up 0/);
    assert.match(downMetrics, /earshot_cluster_fallbacks_total\{operation="admit"\} [1-9]/);
    await closeAll([byToken]);

    await redis.restart();
    // The heartbeats write everything back: node A's running stream counts again.
    for (const node of [a, b]) {
      await waitUntil(async () => /earshot_cluster_nodes 2/.test(await metrics(node.url)), `${node.id} back`, 10_000);
    }
    const token = await mint(a.url);
    const stream = await configured(b.url, token);
    // The token's stream, node A's running stream and one more: the key's 3.
    const more = [await configured(b.url, KEY)];
    assert.equal((await upgradeAnswer(b.url, KEY)).status, 429, "cluster-wide again: A's running stream counts");
    running.sendJson({ type: "close_stream" });
    await running.waitFor((m) => m.type === "stream_closed");
    await closeAll([running, stream, ...more]);
  });
});

describe("a node whose Redis never answers", () => {
  it("starts, serves streams and tokens alone, and says so on /metrics", async () => {
    // Port 1 on loopback: nothing listens, every connection is refused.
    const server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      cluster: { redisUrl: "redis://127.0.0.1:1", nodeId: "alone", leaseMs: LEASE_MS },
    });
    try {
      const { url } = await server.listen({ port: 0 });
      await server.ready;
      const stream = await configured(url, await mint(url));
      stream.sendBinary(toBytes(bursts([{ toneMs: 400, silenceMs: 600 }])));
      await stream.waitFor((m) => m.type === "transcript" && m.is_final === true);
      const text = await metrics(url);
      assert.match(text, /earshot_cluster_redis_up 0/);
      assert.match(text, /earshot_cluster_nodes 0/);
      assert.match(text, /earshot_cluster_fallbacks_total\{operation="token_publish"\} 1/);
      await closeAll([stream]);
    } finally {
      await server.close();
    }
  });
});
