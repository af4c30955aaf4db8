/**
 * Cluster-wide admission through the shipped HAProxy config, with real processes on loopback (a
 * `redis-server`, `haproxy`, two `earshot serve --redis` nodes of the test engine with small
 * `--max-streams`): a node that is full answers the upgrade 503 and HAProxy retries it on the
 * other node, so every new stream gets in while one node has room (a client that reaches the full
 * node itself is told to retry at once), AssemblyAI streams and Twilio calls included (whose
 * upgrades a node otherwise takes before it admits them); once every node is full the
 * client gets the 503 with its Retry-After, saying that every node is full; once HAProxy's health
 * checks have taken every full node out, HAProxy answers the same way itself; a node with room
 * again takes new streams.
 *
 * HAProxy's health checks take a full node out of rotation within `inter × fall` (4 s: the node's
 * `/readyz` answers 503). They are turned off at first, so that HAProxy keeps sending the full
 * nodes new streams and only the retry can get them in, as in the seconds before a check notices.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { type HaproxyProcess, startHaproxy } from "./helpers/haproxy.js";
import { upgradeAnswer, waitUntil } from "./helpers/http-probe.js";
import { sample, scrape } from "./helpers/prometheus.js";
import { type RedisProcess, startRedis } from "./helpers/redis-server.js";
import { killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { mulawFrames, TwilioSimulator } from "./helpers/twilio-simulator.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "cluster-admission-key";
const LEASE_MS = 1500;
const CONFIG = { type: "config", config: { model: "test", language: "en" } };
/** Node A holds one stream, node B five: three of earshot's protocol, an AssemblyAI stream, a Twilio call. */
const A_STREAMS = 1;
const B_STREAMS = 5;
const OWN_STREAMS = 3;
const REFUSED_FULL = 'earshot_connections_refused_total{reason="max_streams"}';

/** Servers up in `show servers state` (field 6 of a server's line: its operational state, 2 = up). */
function serversUp(states: string): number {
  return states
    .split("\n")
    .filter((row) => /^\d+ earshot_nodes /.test(row))
    .filter((row) => row.split(" ")[5] === "2").length;
}

async function configured(url: string): Promise<WireClient> {
  const client = await WireClient.open(url, KEY);
  client.sendJson(CONFIG);
  await client.waitFor((m) => m.type === "session_started", 10_000, "session_started");
  return client;
}

function clusterNode(redis: RedisProcess, id: string, maxStreams: number): Promise<ServeProcess> {
  return serveEngine("test", 0, KEY, {
    args: [
      ...["--redis", redis.url, "--node-id", id, "--node-lease-ms", String(LEASE_MS)],
      ...["--max-streams", String(maxStreams), "--max-streams-per-key", "50"],
    ],
  });
}

describe("cluster-wide admission through HAProxy", () => {
  let redis: RedisProcess;
  let a: ServeProcess;
  let b: ServeProcess;
  let haproxy: HaproxyProcess;
  const open: WireClient[] = [];
  const sockets: WebSocket[] = [];

  before(async () => {
    redis = await startRedis();
    a = await clusterNode(redis, "node-a", A_STREAMS);
    b = await clusterNode(redis, "node-b", B_STREAMS);
    haproxy = await startHaproxy([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
    for (const server of ["node1", "node2"]) {
      assert.match(await haproxy.command(`disable health earshot_nodes/${server}`), /^\s*$/);
    }
  });
  after(async () => {
    for (const client of open) client.ws.terminate();
    for (const ws of sockets) ws.terminate();
    await haproxy?.stop();
    killAllServers();
    await redis?.dispose();
  });

  it("lets every new stream in while node A is full and node B has room: HAProxy retries them on B", async () => {
    // Filled directly, so HAProxy counts no connection on A: leastconn picks A first for every stream.
    open.push(await configured(a.url));
    assert.equal((await fetch(`${a.url}/readyz`)).status, 503, "node A is full");
    // Straight to node A (no HAProxy to retry it): its refusal says node B had room, retry at once.
    await waitUntil(async () => sample(await scrape(a.url), "earshot_cluster_nodes") === 2, "A sees B");
    const direct = await upgradeAnswer(a.url, KEY);
    assert.equal(direct.status, 503);
    assert.equal(direct.headers["retry-after"], "1");
    assert.match((JSON.parse(direct.body) as { message: string }).message, /1 other node had room/);
    const refusedBefore = sample(await scrape(a.url), REFUSED_FULL);
    const redispatchedBefore = await redispatched(haproxy);
    for (let stream = 0; stream < OWN_STREAMS; stream++) open.push(await configured(haproxy.url));
    assert.equal(sample(await scrape(b.url), "earshot_active_streams"), OWN_STREAMS, "every stream is on node B");
    assert.equal(sample(await scrape(a.url), "earshot_active_streams"), A_STREAMS);
    // Node A refused them first (all but, perhaps, the first, when HAProxy counted both nodes empty).
    const refusedByA = sample(await scrape(a.url), REFUSED_FULL) - refusedBefore;
    assert.ok(refusedByA >= OWN_STREAMS - 1, `node A refused ${refusedByA} upgrades`);
    assert.ok((await redispatched(haproxy)) - redispatchedBefore >= refusedByA, "HAProxy sent each on to B");
  });

  it("sends AssemblyAI streams and Twilio calls on to node B too: node A refuses their upgrade while B has room", async () => {
    const refusedBefore = sample(await scrape(a.url), REFUSED_FULL);
    const aai = new WebSocket(`${haproxy.url.replace(/^http/, "ws")}/v3/ws?sample_rate=16000`, {
      headers: { Authorization: KEY },
    });
    const [begin] = await once(aai, "message");
    assert.equal((JSON.parse(String(begin)) as { type: string }).type, "Begin");
    sockets.push(aai);
    const token = (await (
      await fetch(`${haproxy.url}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { token: string };
    const call = await TwilioSimulator.connect({ baseUrl: haproxy.url });
    call.start({ customParameters: { token: token.token }, tracks: ["inbound"] });
    for (const [i, frame] of mulawFrames(new Int16Array(16_000)).entries()) call.media("inbound", i + 1, i * 20, frame);
    sockets.push(call.ws);
    await waitUntil(async () => sample(await scrape(b.url), "earshot_active_streams") === B_STREAMS, "both on B");
    const refusedByA = sample(await scrape(a.url), REFUSED_FULL) - refusedBefore;
    assert.equal(refusedByA, 2, "node A passed both on");
  });

  it("refuses a stream only when every node is full: 503 over_capacity with Retry-After, saying so", async () => {
    // Both nodes' heartbeats show them full before the refusal reads the cluster view.
    for (const node of [a, b]) {
      await waitUntil(async () => {
        const samples = await scrape(node.url);
        return (
          samples.get('earshot_cluster_node_active_streams{node="node-a"}') === A_STREAMS &&
          samples.get('earshot_cluster_node_active_streams{node="node-b"}') === B_STREAMS
        );
      }, "both nodes seen full");
    }
    const refusedBefore = [a, b].map(async (node) => sample(await scrape(node.url), REFUSED_FULL));
    const [aBefore, bBefore] = await Promise.all(refusedBefore);
    const refused = await upgradeAnswer(haproxy.url, KEY);
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers["retry-after"]) >= 1, `Retry-After ${refused.headers["retry-after"]}`);
    const body = JSON.parse(refused.body) as { code: string; message: string; retryable: boolean };
    assert.equal(body.code, "over_capacity");
    assert.equal(body.retryable, true);
    assert.match(body.message, /every node/i);
    // HAProxy tried both nodes before giving up.
    const [aAfter, bAfter] = await Promise.all(
      [a, b].map(async (node) => sample(await scrape(node.url), REFUSED_FULL)),
    );
    assert.ok((aAfter ?? 0) > (aBefore ?? 0) && (bAfter ?? 0) > (bBefore ?? 0), "both nodes refused it");
  });

  it("answers a new stream itself, as a full node would, once its health checks took every full node out", async () => {
    for (const server of ["node1", "node2"]) await haproxy.command(`enable health earshot_nodes/${server}`);
    await waitUntil(
      async () => serversUp(await haproxy.command("show servers state earshot_nodes")) === 0,
      "both down",
      15_000,
    );
    const refused = await upgradeAnswer(haproxy.url, KEY);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers["retry-after"], "5");
    assert.equal(refused.headers["content-type"], "application/json");
    const body = JSON.parse(refused.body) as { code: string; retryable: boolean };
    assert.deepEqual([body.code, body.retryable], ["over_capacity", true]);
  });

  it("lets a new stream in again once a node has room", async () => {
    const leaving = open.pop();
    leaving?.ws.close();
    await leaving?.closed;
    await waitUntil(async () => sample(await scrape(b.url), "earshot_active_streams") < B_STREAMS, "a stream left B");
    // Node B passes its checks again (`rise 2`, every 2 s).
    await waitUntil(
      async () => serversUp(await haproxy.command("show servers state earshot_nodes")) === 1,
      "B up",
      15_000,
    );
    open.push(await configured(haproxy.url));
    assert.equal(sample(await scrape(b.url), "earshot_active_streams"), B_STREAMS);
  });
});

/** Requests HAProxy sent on to another server after a failed attempt (`wredis` of the backend in `show stat`). */
async function redispatched(haproxy: HaproxyProcess): Promise<number> {
  const [header = "", ...rows] = (await haproxy.command("show stat")).split("\n");
  const columns = header.replace(/^# /, "").split(",");
  const backend = rows.map((line) => line.split(",")).find((f) => f[0] === "earshot_nodes" && f[1] === "BACKEND");
  assert.ok(backend, "no BACKEND row in show stat");
  return Number(backend[columns.indexOf("wredis")]);
}
