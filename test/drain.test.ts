/**
 * Issue 18 part 3, one node: `earshot serve` (a real process, the test engine) drained by SIGTERM
 * while a stream speaks, and by the admin call. `/readyz` turns 503 `draining` at once, a new
 * upgrade (a resume too) gets 503 `draining` with `Retry-After`, the utterance in flight ends with
 * its final before the stream is closed with 1012 `draining`, a silent stream is closed at once,
 * and the process exits 0 once no stream is left. The admin call takes the admin key only.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { interleavePcm } from "@earshot/audio";
import { upgradeAnswer, waitUntil } from "./helpers/http-probe.js";
import { killAllServers, type ServeProcess, serveEngine } from "./helpers/serve-process.js";
import { bursts, toBytes } from "./helpers/signals.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "drain-test-key";
const ADMIN = "drain-test-admin-key";
const CONFIG = { type: "config", config: { model: "test", language: "en" } };

after(killAllServers);

/** The drain's bound: long enough that every stream in these tests moves before it, unless set. */
const DRAIN_MS = 20_000;

const serve = (args: readonly string[] = [], drainMs = DRAIN_MS): Promise<ServeProcess> =>
  serveEngine("test", 0, KEY, { args: ["--no-demo", "--drain-timeout-ms", String(drainMs), ...args] });

const readyz = async (url: string) => {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; reason?: string } };
};

async function configured(url: string): Promise<WireClient> {
  const client = await WireClient.open(url, KEY);
  client.sendJson(CONFIG);
  await client.waitFor((m) => m.type === "session_started");
  return client;
}

function exited(served: ServeProcess): Promise<number | null> {
  const child = served.process;
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return once(child, "exit").then(([code]) => code as number | null);
}

const admin = (url: string, method: string, key?: string) =>
  fetch(`${url}/v1/admin/drain`, {
    method,
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });

/** A refused upgrade: 503 with a Retry-After, and `draining` (Deepgram's surface: in Deepgram's words). */
async function assertRefusedDraining(url: string, path?: string): Promise<void> {
  const answer = await upgradeAnswer(url, KEY, path);
  assert.equal(answer.status, 503);
  assert.equal(answer.headers["retry-after"], "1");
  const body = JSON.parse(answer.body) as { code?: string; err_code?: string; err_msg?: string };
  if (path === "/v1/listen") {
    assert.equal(body.err_code, "Service Unavailable");
    assert.match(body.err_msg ?? "", /draining/);
  } else assert.equal(body.code, "draining");
}

describe("draining one node", () => {
  it("SIGTERM while a stream speaks: /readyz 503 at once, new upgrades 503, the final before 1012 draining, then exit", {
    timeout: 60_000,
  }, async () => {
    const served = await serve();
    assert.equal((await readyz(served.url)).status, 200);
    const speaking = await configured(served.url);
    const silent = await configured(served.url);
    // 1.5 s of speech, no pause yet: the utterance is in flight.
    const [speech, rest] = [bursts([{ toneMs: 1500, silenceMs: 0 }]), bursts([{ toneMs: 500, silenceMs: 1000 }])];
    speaking.sendBinary(toBytes(speech));
    await speaking.waitFor((m) => m.type === "transcript" && m.is_final === false, 10_000, "a partial");

    served.process.kill("SIGTERM");
    await waitUntil(async () => (await readyz(served.url)).status === 503, "/readyz 503", 5000);
    assert.deepEqual((await readyz(served.url)).body.status, "draining");
    await assertRefusedDraining(served.url);
    // The compatibility surfaces' streams too: Deepgram's, AssemblyAI's, Twilio's media streams.
    for (const path of ["/v1/listen", "/v3/ws", "/v1/twilio/media-stream"])
      await assertRefusedDraining(served.url, path);
    // OpenAI's file transcriptions too, in OpenAI's shape.
    const upload = await fetch(`${served.url}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "multipart/form-data; boundary=x" },
      body: "--x--\r\n",
    });
    assert.equal(upload.status, 503);
    assert.equal(((await upload.json()) as { error: { type: string } }).error.type, "server_error");
    // A call's events carry no stream: a subscription is still let in (to be told `not_found` here).
    const events = await upgradeAnswer(served.url, KEY, "/v1/calls/CA0123456789abcdef0123456789abcdef/events");
    assert.equal(events.status, 101);
    // A resume of a session of this node is refused too: its client must continue elsewhere.
    const resumeToken = String(speaking.messages.find((m) => m.type === "session_started")?.resume_token);
    await assertRefusedDraining(served.url, `/v1/audio/transcriptions/stream?resume_token=${resumeToken}`);

    // The silent stream moves at once; the speaking one is still open, mid-utterance.
    const silentClosed = await silent.closed;
    assert.deepEqual(silentClosed, { code: 1012, reason: "draining" });
    assert.equal((await silent.waitForError("draining")).retryable, true);
    assert.equal(speaking.finals().length, 0, "no final yet: the utterance goes on");
    const metrics = await (await fetch(`${served.url}/metrics`)).text();
    assert.match(metrics, /^earshot_draining 1$/m);
    assert.match(metrics, /^earshot_drain_sessions_total\{moved="before_bound"\} 1$/m, "the silent stream went");
    assert.match(metrics, /^earshot_connections_refused_total\{reason="draining"\} [1-9]/m);

    speaking.sendBinary(toBytes(rest));
    const closed = await speaking.closed;
    assert.deepEqual(closed, { code: 1012, reason: "draining" });
    const types = speaking.messages.map((m) => (m.type === "transcript" ? `transcript:${m.is_final}` : m.type));
    const finalAt = types.indexOf("transcript:true");
    const errorAt = types.indexOf("error");
    assert.ok(finalAt >= 0, `the in-flight utterance got its final: ${types.join(" ")}`);
    assert.ok(finalAt < errorAt, `the final came before the draining error: ${types.join(" ")}`);
    assert.equal(speaking.messages[errorAt]?.code, "draining");
    // The whole utterance (1.5 s + 0.5 s) is in that one final, not cut at the drain.
    const final = speaking.finals()[0];
    assert.ok(Number(final?.end_ms) - Number(final?.start_ms) >= 1900, JSON.stringify(final));

    assert.equal(await exited(served), 0);
  });

  it("the admin call drains with the admin key only; the node exits once drained", { timeout: 60_000 }, async () => {
    const served = await serve(["--admin-key", ADMIN]);
    for (const key of [undefined, KEY, "not-the-admin-key"]) {
      const refused = await admin(served.url, "POST", key);
      assert.equal(refused.status, 401, `key ${key}`);
      assert.equal(((await refused.json()) as { code: string }).code, "unauthorized");
    }
    const status = await admin(served.url, "GET", ADMIN);
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { state: string }).state, "serving");
    assert.equal((await readyz(served.url)).status, 200, "the refused calls drained nothing");

    const silent = await configured(served.url);
    const started = await admin(served.url, "POST", ADMIN);
    assert.equal(started.status, 202);
    assert.equal(((await started.json()) as { state: string }).state, "draining");
    assert.equal((await readyz(served.url)).status, 503);
    await assertRefusedDraining(served.url);
    assert.deepEqual(await silent.closed, { code: 1012, reason: "draining" });
    assert.equal(await exited(served), 0);
  });

  it("a Deepgram stream mid-utterance gets its final, then Deepgram's 1012", { timeout: 60_000 }, async () => {
    const served = await serve();
    const path = "/v1/listen?encoding=linear16&sample_rate=16000&interim_results=true";
    const client = await WireClient.open(served.url, KEY, { path });
    client.sendBinary(toBytes(bursts([{ toneMs: 1500, silenceMs: 0 }])));
    await client.waitFor((m) => m.type === "Results" && m.is_final === false, 10_000, "an interim result");
    served.process.kill("SIGTERM");
    await waitUntil(async () => (await readyz(served.url)).status === 503, "/readyz 503", 5000);
    assert.ok(!client.messages.some((m) => m.is_final === true), "no final yet: the utterance goes on");
    client.sendBinary(toBytes(bursts([{ toneMs: 300, silenceMs: 1000 }])));
    assert.deepEqual(await client.closed, { code: 1012, reason: "server_shutting_down" });
    const final = client.messages.find((m) => m.type === "Results" && m.is_final === true) as
      | { channel?: { alternatives?: Array<{ words?: unknown[] }> } }
      | undefined;
    assert.ok(final, "the utterance's final came before the close");
    assert.ok((final.channel?.alternatives?.[0]?.words?.length ?? 0) > 0);
    assert.equal(await exited(served), 0);
  });

  it("a two-channel stream moves once both channels stand between utterances", { timeout: 60_000 }, async () => {
    const served = await serve();
    const client = await WireClient.open(served.url, KEY);
    client.sendJson({ type: "config", config: { model: "test", language: "en", channels: 2 } });
    await client.waitFor((m) => m.type === "session_started");
    // Channel 1 speaks on (no pause yet); channel 0 is silent.
    const speech = bursts([{ toneMs: 1500, silenceMs: 0 }]);
    client.sendBinary(toBytes(interleavePcm([new Int16Array(speech.length), speech])));
    await client.waitFor((m) => m.type === "transcript" && m.channel === 1, 10_000, "a partial on channel 1");
    served.process.kill("SIGTERM");
    await waitUntil(async () => (await readyz(served.url)).status === 503, "/readyz 503", 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(client.ws.readyState, client.ws.OPEN, "channel 1 is mid-utterance");
    const rest = bursts([{ toneMs: 300, silenceMs: 1000 }]);
    client.sendBinary(toBytes(interleavePcm([new Int16Array(rest.length), rest])));
    assert.deepEqual(await client.closed, { code: 1012, reason: "draining" });
    const finals = client.finals();
    assert.equal(finals.length, 1);
    assert.equal(finals[0]?.channel, 1);
    assert.equal(await exited(served), 0);
  });

  it("at the bound a speaker who never pauses is moved mid-utterance", { timeout: 60_000 }, async () => {
    const served = await serve([], 1000);
    const speaking = await configured(served.url);
    const tone = toBytes(bursts([{ toneMs: 200, silenceMs: 0 }]));
    speaking.sendBinary(tone);
    await speaking.waitFor((m) => m.type === "transcript" && m.is_final === false, 10_000, "a partial");
    // Speech goes on, without a pause, past the bound.
    const talking = setInterval(() => speaking.sendBinary(tone), 150);
    try {
      const drainedAt = Date.now();
      served.process.kill("SIGTERM");
      assert.deepEqual(await speaking.closed, { code: 1012, reason: "draining" });
      // Moved by the 1 s bound, not by an utterance end (there is none) or the default bound.
      assert.ok(Date.now() - drainedAt < DRAIN_MS / 2, `closed after ${Date.now() - drainedAt} ms`);
    } finally {
      clearInterval(talking);
    }
    assert.equal(speaking.finals().length, 0, "moved mid-utterance: the client replays from its last final");
    assert.equal(await exited(served), 0);
  });

  it("SIGINT during a drain stops at once: the stream still in its utterance gets server_shutting_down", {
    timeout: 60_000,
  }, async () => {
    const served = await serve();
    const speaking = await configured(served.url);
    speaking.sendBinary(toBytes(bursts([{ toneMs: 1500, silenceMs: 0 }])));
    await speaking.waitFor((m) => m.type === "transcript" && m.is_final === false, 10_000, "a partial");
    served.process.kill("SIGTERM");
    await waitUntil(async () => (await readyz(served.url)).status === 503, "/readyz 503", 5000);
    served.process.kill("SIGINT");
    assert.equal((await speaking.closed).code, 1012);
    await speaking.waitForError("server_shutting_down");
    assert.equal(await exited(served), 0);
  });

  it("without an admin key there is no admin call", async () => {
    const served = await serve();
    const answer = await admin(served.url, "POST", ADMIN);
    assert.equal(answer.status, 404);
    assert.equal((await readyz(served.url)).status, 200);
    served.process.kill("SIGTERM");
    assert.equal(await exited(served), 0);
  });
});
