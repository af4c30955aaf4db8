/**
 * Issue 18 point 2, resume on any node, with a real `redis-server` on a free loopback port:
 *
 * - `earshot serve --redis` nodes as real processes: a node is killed with `kill -9` mid-speech and
 *   the SDK's client reconnects to another node (its transport dials the address the test names,
 *   as a client behind HAProxy would land on another node), which finds the session in Redis and
 *   continues it: the same session id (`session_resumed`, `moved: true`, no new session), finals
 *   equal to an uninterrupted run's, segment ids strictly increasing, nothing lost. With the test
 *   engine the stream continues where the client's last final ended (`last_final_end_sample`),
 *   across two kills and a cut connection to a node that stays up (it ends its copy). With the
 *   shipped engine (PocketSphinx), from the checkpoint in the record, word for word: issue 18's
 *   proof through HAProxy, test/cluster-failover.test.ts.
 * - in-process nodes (`createServer` with `cluster` options): a resume token of one key is refused
 *   for another on another node; two nodes taking the same session over at once, exactly one wins,
 *   and the node that held it ends its copy (and never resumes it afterwards); a resume is let in
 *   at the key's cluster-wide limit, a new stream is not; with Redis away a resume on another node
 *   is `session_not_found`, as on a node alone.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type EarshotClientOptions, nodeTransport, type Transport, type TransportFactory } from "@earshot/client";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { mulberry32 } from "@earshot/test-support";
import { upgradeAnswer, waitUntil } from "./helpers/http-probe.js";
import { type RedisProcess, startRedis } from "./helpers/redis-server.js";
import {
  assertExactlyOnce,
  reopenings,
  type SdkRun,
  sendPaced,
  startRun,
  summary,
  transcriptText,
} from "./helpers/sdk-run.js";
import { kill9, killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { bursts, toBytes } from "./helpers/signals.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "cluster-resume-key";
const OTHER_KEY = "cluster-resume-other-key";
const LEASE_MS = 1500;

const metrics = async (url: string): Promise<string> => (await fetch(`${url}/metrics`)).text();
const resumesOn = async (url: string, outcome: string): Promise<number> =>
  Number(new RegExp(`earshot_cluster_resumes_total\\{outcome="${outcome}"\\} (\\d+)`).exec(await metrics(url))?.[1]);

/**
 * A client's transport whose connections go to whichever node `target()` names at the time it
 * dials (the test's stand-in for a balancer), recording each `session_resumed` it gets; `cut()`
 * drops the current connection (a network fault: the node stays up).
 */
function following(target: () => string, resumed: Received[]): { transport: TransportFactory; cut(): void } {
  let current: Transport | undefined;
  const transport: TransportFactory = (request, handlers) => {
    current = nodeTransport(
      { ...request, url: request.url.replace(/^ws:\/\/[^/]+/, target().replace(/^http/, "ws")) },
      {
        ...handlers,
        message(data) {
          if (typeof data === "string" && data.includes('"session_resumed"'))
            resumed.push(JSON.parse(data) as Received);
          handlers.message(data);
        },
      },
    );
    return current;
  };
  return { transport, cut: () => current?.terminate?.() };
}

const clientOptions = (url: string): EarshotClientOptions => ({
  url,
  apiKey: KEY,
  config: { language: "en", timestamp_granularity: "word" },
  reconnect: { baseDelayMs: 20, maxDelayMs: 200, random: mulberry32(0x5eed_0018) },
  heartbeatTimeoutMs: 1000,
  closeTimeoutMs: 60_000,
});

function node(redis: RedisProcess, engine: string, id: string, args: readonly string[] = []): Promise<ServeProcess> {
  return serveEngine(engine, 0, KEY, {
    args: ["--redis", redis.url, "--node-id", id, "--node-lease-ms", String(LEASE_MS), ...args],
    env: { EARSHOT_LOG_LEVEL: "info" },
  });
}

/** The session ids of the client's `session_started` (one: it never started another) and `session_resumed`. */
function assertOneSession(run: SdkRun, resumed: readonly Received[], moves: number): void {
  assert.equal(run.sessions.length, 1, "no new session was started");
  assert.equal(resumed.length, moves, JSON.stringify(resumed));
  for (const message of resumed) {
    assert.equal(message.session_id, run.sessions[0]);
    assert.equal(message.moved, true);
  }
  const reopened = reopenings(run);
  assert.ok(reopened.length >= moves);
  assert.ok(reopened.every((s) => s.resumed === true));
  assert.equal(reopened.filter((s) => s.moved === true).length, moves, "the client saw each move");
}

after(killAllServers);

describe("a node killed with kill -9: its sessions continue on another node (test engine)", () => {
  /** Twelve utterances (200 ms to 1.7 s of tone) with pauses: 19.8 s. */
  const SIGNAL = bursts(
    [900, 1300, 400, 1700, 700, 1100, 200, 1500, 600, 1000, 1200, 800].map((toneMs, i) => ({
      toneMs,
      silenceMs: 400 + (i % 3) * 300,
    })),
  );
  let redis: RedisProcess;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    killAllServers();
    await redis?.dispose();
  });

  it("continues where the client's last final ended, after two kills and a cut: the same finals, none twice, nothing lost", {
    timeout: 90_000,
  }, async (t) => {
    const a = await node(redis, "test", "node-a");
    const b = await node(redis, "test", "node-b");
    const c = await node(redis, "test", "node-c");
    const reference = startRun(clientOptions(b.url));
    await reference.client.connect();
    await sendPaced(reference, SIGNAL, { speed: Number.POSITIVE_INFINITY });
    assert.equal((await reference.client.close()).code, 1000);
    assert.equal(reference.finals.length, 12);

    let target = a.url;
    const resumed: Received[] = [];
    const link = following(() => target, resumed);
    const run = startRun({ ...clientOptions(a.url), transport: link.transport });
    await run.client.connect();
    const onNode = (moves: number) =>
      waitUntil(() => resumed.length === moves && run.client.state === "open", `the client's move ${moves}`, 20_000);
    // Mid-utterance (the 5th tone runs 6.8–7.5 s): A dies, the client lands on B. Mid-utterance
    // again (the 8th tone runs 11.3–12.8 s): the client's connection to B is cut, B stays up, the
    // client lands on C. Just after the 10th tone (ends 15.7 s), before its final: C dies, the
    // client lands on B again, which no longer holds the session it gave up.
    await sendPaced(run, SIGNAL, {
      speed: 4,
      before: async (i) => {
        if (i === 73) {
          await waitUntil(() => run.finals.length >= 3, "finals before the first kill", 20_000);
          await kill9(a);
          target = b.url;
        }
        if (i === 120) {
          await onNode(1);
          target = c.url;
          link.cut();
        }
        if (i === 158) {
          await onNode(2);
          await kill9(c);
          target = b.url;
        }
      },
    });
    const result = await run.client.close();
    t.diagnostic(`finals ${run.finals.map((f) => f.segment_id).join(",")}; resumed ${JSON.stringify(resumed)}`);

    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
    assertExactlyOnce(run);
    assert.equal(transcriptText(run.finals), transcriptText(reference.finals));
    assert.deepEqual(summary(run.finals), summary(reference.finals));
    assertOneSession(run, resumed, 3);
    assert.deepEqual(
      run.errors.map((e) => e.code),
      [],
    );
    // The records were used (not the SDK's fallback to a new session): the nodes that continued say
    // so, each where the client's last final ended (the test engine makes no checkpoints); B ended
    // its copy once C took the session over.
    assert.equal(await resumesOn(b.url, "resumed"), 2);
    for (const continued of [b, c]) assert.match(continued.stderr(), /"startFrom":"client_final"/);
    assert.match(b.stderr(), /session taken over by another node; ending it here/);
    await kill9(b);
  });
});

describe("resume on another node: keys, races, Redis away (in-process nodes)", () => {
  const CONFIG = { type: "config", config: { model: "test", language: "en" } };
  let redis: RedisProcess;
  const nodes: Array<{ server: EarshotServer; url: string }> = [];

  async function startNode(id: string, maxStreamsPerKey = 64): Promise<{ server: EarshotServer; url: string }> {
    const server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY, OTHER_KEY],
      maxStreamsPerKey,
      resumeGraceMs: 30_000,
      cluster: { redisUrl: redis.url, nodeId: id, leaseMs: LEASE_MS },
    });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const started = { server, url };
    nodes.push(started);
    return started;
  }

  /** A session on `url` with one final, whose connection then drops (it waits for a resume there). */
  async function droppedSession(
    url: string,
    credential = KEY,
  ): Promise<{ token: string; id: string; lastSegmentId: number }> {
    const client = await WireClient.open(url, credential);
    client.sendJson(CONFIG);
    const started = await client.waitFor((m) => m.type === "session_started");
    client.sendBinary(toBytes(bursts([{ toneMs: 400, silenceMs: 600 }])));
    const final = await client.waitFor((m) => m.type === "transcript" && m.is_final === true);
    // The record holds that final before the connection drops.
    await waitUntil(async () => {
      const record = await redis.client.hgetall(await recordName(started.resume_token as string));
      return record.last_segment_id === String(final.segment_id);
    }, "the final in the record");
    client.ws.terminate();
    await client.closed;
    return {
      token: started.resume_token as string,
      id: started.session_id as string,
      lastSegmentId: final.segment_id as number,
    };
  }

  const recordName = async (token: string): Promise<string> =>
    `earshot:session:${createHash("sha256").update(token).digest("hex").slice(0, 32)}`;

  async function resumeOn(url: string, credential: string, token: string, lastSegmentId: number): Promise<WireClient> {
    const client = await WireClient.open(url, credential, {
      path: `/v1/audio/transcriptions/stream?resume_token=${token}`,
    });
    client.sendJson({ type: "resume", resume_token: token, last_segment_id: lastSegmentId });
    await client.waitFor((m) => m.type === "session_resumed" || m.type === "error");
    return client;
  }

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const { server } of nodes) await server.close();
    await redis?.dispose();
  });

  it("refuses a resume token of one key presented with another key on another node", async () => {
    const a = await startNode("node-a");
    const b = await startNode("node-b");
    const session = await droppedSession(a.url);
    const intruder = await resumeOn(b.url, OTHER_KEY, session.token, session.lastSegmentId);
    assert.deepEqual(
      intruder.messages.map((m) => m.code ?? m.type),
      ["session_not_found"],
    );
    assert.equal(await resumesOn(b.url, "other_key"), 1);
    // Untouched: still A's, and its owner resumes it on B.
    assert.equal(await redis.client.hget(await recordName(session.token), "node"), "node-a");
    intruder.ws.close();
    const owner = await resumeOn(b.url, KEY, session.token, session.lastSegmentId);
    const answer = owner.messages[0];
    assert.equal(answer?.type, "session_resumed", JSON.stringify(owner.messages));
    assert.equal(answer?.session_id, session.id);
    assert.equal(answer?.moved, true);
    owner.sendJson({ type: "close_stream" });
    await owner.waitFor((m) => m.type === "stream_closed");
  });

  it("lets exactly one of two nodes racing for a session take it over; the node that held it ends its copy", async () => {
    const [a, b, c] = [nodes[0], nodes[1], await startNode("node-c")];
    assert.ok(a && b && c);
    // The session the last test moved to node B has ended on node A by now.
    await waitUntil(() => a.server.sessionCount === 0, "node A to end the copy of the session moved before", 5000);
    const session = await droppedSession(a.url);
    assert.equal(a.server.sessionCount, 1);
    const path = `/v1/audio/transcriptions/stream?resume_token=${session.token}`;
    const racers = await Promise.all([b, c].map((n) => WireClient.open(n.url, KEY, { path })));
    // Redis holds every write (the takeover scripts too, not the reads) for 300 ms: both nodes read
    // the record naming node A before either takes it over, so they race for the same record.
    await redis.client.call("CLIENT", "PAUSE", "300", "WRITE");
    for (const racer of racers) {
      racer.sendJson({ type: "resume", resume_token: session.token, last_segment_id: session.lastSegmentId });
    }
    const answers = await Promise.all(
      racers.map((r) => r.waitFor((m) => m.type === "session_resumed" || m.type === "error")),
    );
    const won = answers.findIndex((m) => m.type === "session_resumed");
    assert.ok(won >= 0, JSON.stringify(answers));
    assert.equal(answers[1 - won]?.code, "session_not_found", JSON.stringify(answers));
    assert.equal(await redis.client.hget(await recordName(session.token), "node"), won === 0 ? "node-b" : "node-c");
    assert.equal((await resumesOn(b.url, "lost_race")) + (await resumesOn(c.url, "lost_race")), 1);
    // Node A learns at its next heartbeat that its session moved, and ends it.
    await waitUntil(() => a.server.sessionCount === 0, "node A to end its copy", 5000);
    for (const racer of racers) racer.ws.close();
  });

  it("never resumes a copy another node took over: the node takes the session back from its record", async () => {
    const [a, b] = nodes;
    assert.ok(a && b);
    const session = await droppedSession(a.url);
    const onB = await resumeOn(b.url, KEY, session.token, session.lastSegmentId);
    assert.equal(onB.messages[0]?.moved, true);
    onB.ws.terminate();
    await onB.closed;
    // Straight back to node A, before its heartbeat could tell it that its copy moved.
    const back = await resumeOn(a.url, KEY, session.token, session.lastSegmentId);
    const answer = back.messages[0];
    assert.equal(answer?.type, "session_resumed", JSON.stringify(back.messages));
    assert.equal(answer?.session_id, session.id);
    assert.equal(answer?.moved, true, "continued from the record, not from node A's stale copy");
    assert.equal(await redis.client.hget(await recordName(session.token), "node"), "node-a");
    back.sendBinary(toBytes(bursts([{ toneMs: 400, silenceMs: 600 }])));
    const final = await back.waitFor((m) => m.type === "transcript" && m.is_final === true);
    assert.equal(final.segment_id, session.lastSegmentId + 1);
    back.sendJson({ type: "close_stream" });
    await back.waitFor((m) => m.type === "stream_closed");
  });

  it("lets a resume in at the key's cluster-wide limit, and only a resume", async () => {
    // The key may hold two streams across these two nodes (and two on each).
    const [d, e] = [await startNode("node-d", 2), await startNode("node-e", 2)];
    const session = await droppedSession(d.url, OTHER_KEY);
    await waitUntil(async () => /earshot_websocket_connections 0/.test(await metrics(d.url)), "node D saw the drop");
    const live = [await WireClient.open(d.url, OTHER_KEY), await WireClient.open(d.url, OTHER_KEY)];
    assert.equal((await upgradeAnswer(e.url, OTHER_KEY)).status, 429, "a new stream is refused");
    // Let in with the session's resume token, but starting a new stream: over the limit.
    const path = `/v1/audio/transcriptions/stream?resume_token=${session.token}`;
    const sneaky = await WireClient.open(e.url, OTHER_KEY, { path });
    sneaky.sendJson(CONFIG);
    await sneaky.waitForError("too_many_streams");
    const resumed = await resumeOn(e.url, OTHER_KEY, session.token, session.lastSegmentId);
    assert.equal(resumed.messages[0]?.type, "session_resumed", JSON.stringify(resumed.messages));
    assert.equal(resumed.messages[0]?.moved, true);
    for (const client of [...live, resumed, sneaky]) client.ws.close();
  });

  it("continues a session opened with a stream token on another node, with the same token, for that session only", async () => {
    const [a, b] = nodes;
    assert.ok(a && b);
    const minted = await fetch(`${a.url}/v1/auth/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
    });
    const { token } = (await minted.json()) as { token: string };
    const session = await droppedSession(a.url, token);
    const resumed = await resumeOn(b.url, token, session.token, session.lastSegmentId);
    assert.equal(resumed.messages[0]?.type, "session_resumed", JSON.stringify(resumed.messages));
    assert.equal(resumed.messages[0]?.session_id, session.id);
    assert.equal(resumed.messages[0]?.moved, true);
    resumed.sendJson({ type: "close_stream" });
    await resumed.waitFor((m) => m.type === "stream_closed");
    // The used token names its session: with another session's resume token it is refused.
    const other = await droppedSession(a.url);
    const path = `/v1/audio/transcriptions/stream?resume_token=${other.token}`;
    const refused = await upgradeAnswer(b.url, token, path);
    assert.equal(refused.status, 401);
    assert.equal(JSON.parse(refused.body).code, "invalid_token");
  });

  it("answers session_not_found while Redis is away, as a node alone does", async () => {
    const [a, b] = nodes;
    assert.ok(a && b);
    const session = await droppedSession(a.url);
    await redis.stop();
    try {
      const client = await resumeOn(b.url, KEY, session.token, session.lastSegmentId);
      assert.equal(client.messages[0]?.code, "session_not_found");
      assert.equal(await resumesOn(b.url, "not_found"), 1);
      client.ws.close();
    } finally {
      await redis.restart();
    }
  });
});
