/**
 * Server side of resume, at the wire level: a dropped connection leaves a session that a new
 * connection takes over with its token; audio continues from `received_samples`; finals the client
 * missed come again, once; expired or unknown sessions say `session_not_found`; shutdown flushes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { CloseCode } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import { bursts, toBytes } from "./helpers/signals.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "resume-key";
const CONFIG = { model: "test", language: "en" };
/** Two utterances: 1 s tone, 0.5 s pause, 0.6 s tone, 0.7 s pause (2.8 s). */
const SIGNAL = bursts([
  { toneMs: 1000, silenceMs: 500 },
  { toneMs: 600, silenceMs: 700 },
]);
const EXPECTED = ["alpha bravo charlie delta echo", "hotel india juliett"];

async function start(url: string): Promise<{ client: WireClient; token: string }> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: CONFIG });
  const started = await client.waitFor((m) => m.type === "session_started");
  return { client, token: started.resume_token as string };
}

async function resume(url: string, token: string, lastSegmentId: number): Promise<{ client: WireClient; at: number }> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "resume", resume_token: token, last_segment_id: lastSegmentId });
  const resumed = await client.waitFor((m) => m.type === "session_resumed");
  return { client, at: resumed.received_samples as number };
}

const finalsOf = (...clients: WireClient[]): Received[] => clients.flatMap((c) => c.finals());

describe("resume", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY], resumeGraceMs: 400 });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("continues a dropped stream from received_samples with the same finals, each once", async () => {
    const first = await start(url);
    const cut = 16 * 1800; // in the middle of the second tone
    for (let at = 0; at < cut; at += 1600)
      first.client.sendBinary(toBytes(SIGNAL.subarray(at, Math.min(cut, at + 1600))));
    await first.client.waitFor((m) => m.type === "ack" && m.received_samples === cut, 5000, "ack of the cut");
    first.client.ws.terminate();
    const seen = first.client.finals().map((f) => f.segment_id as number);
    assert.deepEqual(seen, [0]);

    const second = await resume(url, first.token, 0);
    assert.equal(second.at, cut);
    for (let at = second.at; at < SIGNAL.length; at += 1600)
      second.client.sendBinary(toBytes(SIGNAL.subarray(at, at + 1600)));
    second.client.sendJson({ type: "close_stream" });
    await second.client.waitFor((m) => m.type === "stream_closed");
    assert.equal((await second.client.closed).code, CloseCode.normal);

    const finals = finalsOf(first.client, second.client);
    assert.deepEqual(
      finals.map((f) => [f.segment_id, f.text, f.start_ms, f.end_ms]),
      [
        [0, EXPECTED[0], 0, 1000],
        [1, EXPECTED[1], 1500, 2100],
      ],
    );
  });

  it("redelivers a final the client never received, and only finals after last_segment_id", async () => {
    const first = await start(url);
    // The whole first utterance and its pause, then a drop before the client reads anything.
    first.client.sendBinary(toBytes(SIGNAL.subarray(0, 16 * 1500)));
    await first.client.waitFor((m) => m.type === "ack" && m.received_samples === 16 * 1500);
    first.client.ws.terminate();

    const second = await resume(url, first.token, -1);
    await second.client.waitFor((m) => m.type === "transcript" && m.is_final === true);
    const third = await resume(url, first.token, 0); // takes over again; the client has segment 0
    assert.equal(third.at, 16 * 1500);
    assert.equal((await second.client.closed).code, CloseCode.goingAway);
    third.client.sendBinary(toBytes(SIGNAL.subarray(third.at)));
    third.client.sendJson({ type: "close_stream" });
    await third.client.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(
      second.client.finals().map((f) => f.text),
      [EXPECTED[0]],
    );
    assert.deepEqual(
      third.client.finals().map((f) => f.text),
      [EXPECTED[1]],
    );
  });

  it("a client that missed stream_closed resumes the finished session and gets its finals and stream_closed again", async () => {
    const first = await start(url);
    first.client.sendBinary(toBytes(SIGNAL));
    first.client.sendJson({ type: "close_stream" });
    // The server sent everything; pretend the connection dropped before the client read any of it.
    await first.client.waitFor((m) => m.type === "stream_closed");
    assert.equal(server.sessionCount, 0, "a finished session no longer counts as a stream");

    const again = await resume(url, first.token, 0); // the client had segment 0 only
    assert.equal(again.at, SIGNAL.length);
    await again.client.waitFor((m) => m.type === "stream_closed");
    assert.equal((await again.client.closed).code, CloseCode.normal);
    assert.deepEqual(
      again.client.finals().map((f) => [f.segment_id, f.text]),
      [[1, EXPECTED[1]]],
    );
    // Kept for the grace period only.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const late = await WireClient.open(url, KEY);
    late.sendJson({ type: "resume", resume_token: first.token, last_segment_id: 1 });
    await late.waitForError("session_not_found");
    late.ws.close();
  });

  it("acks received audio as it arrives and once a second when idle", async () => {
    const { client } = await start(url);
    client.sendBinary(toBytes(SIGNAL.subarray(0, 8000)));
    await client.waitFor((m) => m.type === "ack" && m.received_samples === 8000);
    const before = client.messages.filter((m) => m.type === "ack").length;
    await new Promise((resolve) => setTimeout(resolve, 1300));
    assert.ok(client.messages.filter((m) => m.type === "ack").length > before, "heartbeat ack while idle");
    client.ws.close();
  });

  it("a session is gone after its grace period", async () => {
    const first = await start(url);
    first.client.sendBinary(toBytes(SIGNAL.subarray(0, 1600)));
    first.client.ws.terminate();
    await new Promise((resolve) => setTimeout(resolve, 700));
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "resume", resume_token: first.token, last_segment_id: -1 });
    await client.waitForError("session_not_found");
    client.ws.close();
  });

  it("a new session continues stream-absolute times and segment ids", async () => {
    const client = await WireClient.open(url, KEY);
    const startSample = 16 * 1500;
    client.sendJson({ type: "config", config: { ...CONFIG, start_sample: startSample, first_segment_id: 1 } });
    await client.waitFor((m) => m.type === "session_started");
    client.sendBinary(toBytes(SIGNAL.subarray(startSample)));
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(
      client.finals().map((f) => [f.segment_id, f.text, f.start_ms, f.end_ms]),
      [[1, EXPECTED[1], 1500, 2100]],
    );
    const acks = client.messages.filter((m) => m.type === "ack").map((m) => m.received_samples as number);
    assert.ok(acks.every((n) => n >= startSample));
  });

  it("a peer that stops answering pings is dropped, and its session waits for a resume", {
    timeout: 10_000,
  }, async () => {
    const local = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      pingIntervalMs: 100,
      livenessTimeoutMs: 400,
    });
    const { url: localUrl } = await local.listen({ port: 0 });
    try {
      const first = await start(localUrl);
      // A half-open connection: the client's socket stops reading, so it never sees the pings.
      const socket = (first.client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      await new Promise((resolve) => setTimeout(resolve, 800));
      socket.resume(); // now it reads the server's hang-up: no close frame, the socket was cut
      const { code } = await first.client.closed;
      assert.equal(code, 1006);
      const second = await resume(localUrl, first.token, -1);
      assert.equal(second.at, 0);
      second.client.ws.close();
    } finally {
      await local.close();
    }
  });

  it("shutdown sends the final of the utterance in progress before asking clients to reconnect", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url: localUrl } = await local.listen({ port: 0 });
    const { client } = await start(localUrl);
    client.sendBinary(toBytes(SIGNAL.subarray(0, 16 * 800))); // mid-utterance
    await client.waitFor((m) => m.type === "ack" && m.received_samples === 16 * 800);
    await local.close();
    assert.equal((await client.closed).code, CloseCode.serviceRestart);
    const types = client.messages.filter((m) => m.type !== "ack").map((m) => m.type);
    assert.deepEqual(types.slice(-2), ["transcript", "error"]);
    assert.deepEqual(
      client.finals().map((f) => f.text),
      ["alpha bravo charlie delta"],
    );
  });
});
