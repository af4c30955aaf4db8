/**
 * Issue 18's proofs for the state the nodes share, through HAProxy (a copy of the shipped config)
 * in front of 3 `earshot serve --engine test --redis` nodes and a real Redis, all real processes on
 * loopback (test/helpers/cluster-fleet.ts). The test engine, whose words are named by their start
 * times, stands in for speech: what matters here is which stream got which finals, not the words.
 *
 * - Redis restarted mid-run (SIGKILL, then a fresh empty one on the same port): the 12 running
 *   streams never notice (no reconnect, the same finals); while it is down a new session still
 *   opens (node-local, docs/operations.md "When Redis is down"); once it is back new sessions are
 *   recorded, every running session's record is in Redis again after its next final, and a node
 *   killed then has its streams go on on the others.
 * - A stream token minted through HAProxy opens a stream on another node (its minter out of
 *   HAProxy); when that node dies the SDK goes on elsewhere (with a fresh token from its provider,
 *   or the used one naming its session). A resume token of one API key is refused for another
 *   key on another node, and still resumes the session for its own key. The node-to-node cases
 *   are in cluster-state.test.ts (tokens) and the resume tests; these add the way through HAProxy.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ClusterFleet } from "./helpers/cluster-fleet.js";
import {
  closeStreams,
  continuations,
  type FleetStream,
  fleetClientOptions,
  isOpen,
  openStreams,
  receivedOfType,
  recording,
  resumeToken,
  sendInLockstep,
  uninterrupted,
} from "./helpers/fleet-streams.js";
import { waitUntil } from "./helpers/http-probe.js";
import { sample, scrape } from "./helpers/prometheus.js";
import { assertExactlyOnce, reopenings, startRun, summary } from "./helpers/sdk-run.js";
import { killAllServers } from "./helpers/serve-process.js";
import { bursts, toBytes } from "./helpers/signals.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "shared-state-key";
const OTHER_KEY = "shared-state-other-key";
const STREAMS = 12;
/** Eight utterances a stream (tones of 300 ms to 1.1 s, a different pattern on each), 600 ms pauses: 8.8 to 12 s. */
const audios = Array.from({ length: STREAMS }, (_, i) =>
  bursts(Array.from({ length: 8 }, (_, k) => ({ toneMs: 300 + ((i * 7 + k * 5) % 9) * 100, silenceMs: 600 }))),
);
const SPEED = 3;
/** In 100 ms pieces: Redis goes down after two utterances, comes back after four, a node dies after six. */
const REDIS_DOWN_AT = 20;
const REDIS_UP_AT = 45;
const KILL_AT = 70;

after(killAllServers);

const metricOf = async (url: string, series: string): Promise<number> => sample(await scrape(url), series);

/** A short session through `url` on the wire: config, one utterance, close_stream; its resume token and finals. */
async function shortSession(url: string, key: string): Promise<{ token: string; finals: number }> {
  const client = await WireClient.open(url, key);
  client.sendJson({ type: "config", config: { language: "en" } });
  const started = await client.waitFor((m) => m.type === "session_started");
  client.sendBinary(toBytes(bursts([{ toneMs: 400, silenceMs: 600 }])));
  client.sendJson({ type: "close_stream" });
  await client.waitFor((m) => m.type === "stream_closed", 10_000, "stream_closed");
  await client.closed;
  return { token: String(started.resume_token), finals: client.finals().length };
}

describe("3 nodes behind HAProxy sharing Redis", () => {
  let fleet: ClusterFleet;
  let reference: FleetStream[];
  const opened: FleetStream[] = [];

  before(async () => {
    fleet = await ClusterFleet.start({ engine: "test", apiKeys: [KEY, OTHER_KEY] });
    reference = await uninterrupted(
      fleet.names.map((name) => fleet.node(name).url),
      KEY,
      audios,
    );
  });
  after(async () => {
    for (const stream of opened) void stream.run.client.close();
    await fleet?.stop();
  });

  it("Redis restarted mid-run: running streams untouched; new sessions meanwhile; records, new sessions and a resume elsewhere once it is back", {
    timeout: 60_000,
  }, async (t) => {
    const streams = await openStreams(fleet.url, KEY, audios, 0x18_0003);
    opened.push(...streams);
    const holders = async () => Promise.all(streams.map((stream) => fleet.holder(resumeToken(stream))));
    await waitUntil(async () => (await holders()).every(Boolean), "every session recorded");
    const before = await holders();
    let victim = "";
    let fallbacks = 0;
    /** Admissions and session records each node did without Redis, summed over the nodes. */
    const nodeLocalDecisions = async (): Promise<number> => {
      let sum = 0;
      for (const name of fleet.names) {
        const samples = await scrape(fleet.node(name).url);
        for (const operation of ["admit", "session_record"]) {
          sum += sample(samples, `earshot_cluster_fallbacks_total{operation="${operation}"}`);
        }
      }
      return sum;
    };
    let afterRestart: (string | undefined)[] = [];
    const sessions: Record<string, number> = {};
    await sendInLockstep(streams, {
      speed: SPEED,
      before: async (i) => {
        if (i === REDIS_DOWN_AT) {
          await fleet.redis.stop();
          for (const name of fleet.names) {
            const { url } = fleet.node(name);
            await waitUntil(
              async () => (await metricOf(url, "earshot_cluster_redis_up")) === 0,
              `${name} sees Redis down`,
            );
          }
          // Node-local admission: a new session opens and is transcribed.
          sessions.whileDown = (await shortSession(fleet.url, KEY)).finals;
        }
        if (i === REDIS_UP_AT) {
          fallbacks = await nodeLocalDecisions();
          await fleet.redis.restart();
          await fleet.waitForClusterView(3);
          const fresh = await shortSession(fleet.url, KEY);
          sessions.afterRestart = fresh.finals;
          assert.ok(await fleet.holder(fresh.token), "a new session is recorded again");
        }
        if (i === KILL_AT) {
          // Each running session wrote its record again at its first final since (the heartbeat
          // only renews records, it does not write them back): a resume elsewhere can find them.
          await waitUntil(async () => (await holders()).every(Boolean), "every running session's record back", 10_000);
          afterRestart = await holders();
          victim = before[0] ?? "";
          await fleet.kill(victim);
        }
      },
    });
    await waitUntil(() => streams.every(isOpen), "every stream open", 20_000);
    const afterKill = await holders();
    const results = await closeStreams(streams);
    await fleet.restart(victim);
    t.diagnostic(
      `held by ${before.join(",")}; after Redis restarted ${afterRestart.join(",")}; after ${victim} died ${afterKill.join(",")}`,
    );
    const movedStreams = streams.filter((s) => before[s.index] === victim);
    const takenOver = movedStreams.filter((s) => receivedOfType(s, "session_resumed").some((m) => m.moved === true));
    t.diagnostic(
      `${victim}'s ${movedStreams.length} streams went on at samples ${movedStreams.map((s) => continuations(s).join("/")).join(", ")}, ${takenOver.length} of them taken over from Redis`,
    );

    assert.ok((sessions.whileDown ?? 0) > 0, "a session opened while Redis was down got its final");
    assert.ok((sessions.afterRestart ?? 0) > 0);
    assert.deepEqual(afterRestart, before, "the records name the same nodes as before the outage");
    // Records written again after the outage are what the other nodes took the streams over from.
    assert.equal(takenOver.length, movedStreams.length, "every stream of the killed node was taken over from Redis");
    for (const stream of streams) {
      const what = `stream ${stream.index}`;
      const result = results[stream.index];
      assert.equal(result?.code, 1000, what);
      assert.equal(result?.lostMs, 0, what);
      assertExactlyOnce(stream.run);
      assert.deepEqual(summary(stream.run.finals), summary(reference[stream.index]?.run.finals ?? []), what);
      const moved = before[stream.index] === victim;
      // The outage cost the running streams nothing: only the victim's reconnected, once.
      assert.equal(reopenings(stream.run).length, moved ? 1 : 0, what);
      if (moved) assert.notEqual(afterKill[stream.index], victim, `${what} went on on another node`);
    }
    // What docs/operations.md says a node does while Redis is down, and after.
    assert.ok(fallbacks > 0, "node-local decisions are counted");
    for (const name of fleet.names) {
      if (name === victim) continue; // its log went with it
      const log = fleet.node(name).served?.stderr() ?? "";
      assert.match(log, /"code":"cluster_redis_unavailable"/, name);
      assert.match(log, /"code":"cluster_redis_restored"/, name);
    }
    t.diagnostic(`${fallbacks} admissions and session records decided node-locally while Redis was down`);
  });

  it("a stream token minted through HAProxy opens a stream on another node, and the stream outlives that node", {
    timeout: 60_000,
  }, async (t) => {
    let mints = 0;
    const mint = async (): Promise<string> => {
      mints += 1;
      const response = await fetch(`${fleet.url}/v1/auth/token`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}` },
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as { token: string }).token;
    };
    const digest = (secret: string) => createHash("sha256").update(secret).digest("hex").slice(0, 32);
    const first = await mint();
    const tokenNode = () => fleet.redis.client.hget(`earshot:token:${digest(first)}`, "node");
    // The minting node publishes the token after answering.
    await waitUntil(async () => (await tokenNode()) !== null, "the token published");
    const minter = (await tokenNode()) ?? "";
    assert.ok(fleet.names.includes(minter), `minted by ${minter}`);
    await fleet.setState(minter, "maint");
    const minted: string[] = [first];
    const sent: string[] = [];
    const received: string[] = [];
    const run = startRun({
      ...fleetClientOptions(fleet.url, { token: async () => minted.shift() ?? (await mint()) }, 0x18_0004),
      transport: recording(sent, received),
    });
    const stream: FleetStream = { index: 0, run, audio: audios[0] ?? new Int16Array(), sent, received };
    opened.push(stream);
    await run.client.connect();
    const user = await fleet.holder(resumeToken(stream));
    assert.ok(user && user !== minter, `the stream is on ${user}, the token was minted on ${minter}`);
    assert.equal(await tokenNode(), user, "claimed by its user");
    await fleet.setState(minter, "ready");
    await sendInLockstep([stream], {
      speed: SPEED,
      before: async (i) => {
        if (i === REDIS_DOWN_AT) await fleet.kill(user);
      },
    });
    const result = await run.client.close();
    await fleet.restart(user);

    const moved = receivedOfType(stream, "session_resumed").some((m) => m.moved === true);
    t.diagnostic(
      `${mints} tokens minted; after its node died the stream was ${moved ? "taken over with its used token" : "continued in a new session"}`,
    );
    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
    assertExactlyOnce(run);
    assert.deepEqual(summary(run.finals), summary(reference[0]?.run.finals ?? []));
    assert.equal(reopenings(run).length, 1, "it went on on another node");
    assert.ok(moved, "another node took the token's session over from Redis");
    assert.deepEqual(
      run.errors.map((e) => e.code),
      [],
    );
  });

  it("a resume token of one key is refused for another key on another node, and still resumes for its own", async () => {
    const owner = await WireClient.open(fleet.url, KEY);
    owner.sendJson({ type: "config", config: { language: "en" } });
    const started = await owner.waitFor((m) => m.type === "session_started");
    const token = String(started.resume_token);
    owner.sendBinary(toBytes(bursts([{ toneMs: 400, silenceMs: 600 }])));
    await owner.waitFor((m) => m.type === "transcript" && m.is_final === true);
    const holder = await fleet.holder(token);
    assert.ok(holder);
    // A drop, not a close: the session waits for a resume on its node.
    owner.ws.terminate();
    await owner.closed;
    await fleet.setState(holder, "maint");
    try {
      const path = `/v1/audio/transcriptions/stream?resume_token=${token}`;
      const thief = await WireClient.open(fleet.url, OTHER_KEY, { path });
      thief.sendJson({ type: "resume", resume_token: token, last_segment_id: 0 });
      await thief.waitForError("session_not_found");
      assert.ok(!thief.messages.some((m) => m.type === "session_resumed"));
      thief.ws.close();
      await thief.closed;
      assert.equal(await fleet.holder(token), holder, "the refused attempt did not move the session");
    } finally {
      await fleet.setState(holder, "ready");
    }
    const back = await WireClient.open(fleet.node(holder).url, KEY);
    back.sendJson({ type: "resume", resume_token: token, last_segment_id: 0 });
    await back.waitFor((m) => m.type === "session_resumed");
    back.sendJson({ type: "close_stream" });
    await back.waitFor((m) => m.type === "stream_closed");
    await back.closed;
  });
});
