/**
 * Twilio media streams against real servers, driven by a Twilio simulator (test/helpers): signed
 * and token-authenticated streams, both tracks as two labelled channels on one clock, subscribers
 * that come early, late or reconnect with a cursor, a mid-call cut, and every fault Twilio's
 * side can produce. The deterministic test engine names words by their stream time, so each
 * channel's words and times are exact; `twilio-pocketsphinx.test.ts` does the same with speech.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer, twilioSignature } from "@earshot/server";
import { sample, scrape } from "./helpers/prometheus.js";
import { bursts } from "./helpers/signals.js";
import { mulawFrames, TwilioSimulator, UpgradeRefused } from "./helpers/twilio-simulator.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "twilio-key";
const OTHER_KEY = "twilio-other-key";
const AUTH_TOKEN = "0123456789abcdef0123456789abcdef";
/** The caller: two utterances (0–1000 ms, 1500–2100 ms). */
const INBOUND = bursts([
  { toneMs: 1000, silenceMs: 500 },
  { toneMs: 600, silenceMs: 700 },
]);
/** The agent, from 3000 ms of stream time: one utterance (3000–3800 ms). */
const OUTBOUND = bursts([{ toneMs: 800, silenceMs: 600 }]);
const OUTBOUND_START_MS = 3000;
const TRACKS = [
  { track: "inbound", pcm: INBOUND },
  { track: "outbound", pcm: OUTBOUND, startMs: OUTBOUND_START_MS },
] as const;
/** The test engine names a word by its start time (200 ms a word), on the stream's clock. */
const INBOUND_FINALS = ["alpha bravo charlie delta echo", "hotel india juliett"];
const OUTBOUND_FINALS = ["papa quebec romeo sierra"];
const SPEED = 4;

const eventsPath = (sid: string, cursor?: number) =>
  `/v1/calls/${sid}/events${cursor === undefined ? "" : `?cursor=${cursor}`}`;

function subscribe(url: string, sid: string, cursor?: number, key = KEY): Promise<WireClient> {
  return WireClient.open(url, key, { path: eventsPath(sid, cursor) });
}

const finalsOf = (messages: readonly Received[], channel: number) =>
  messages.filter((m) => m.type === "transcript" && m.is_final === true && m.channel === channel);
const texts = (messages: readonly Received[]) => messages.map((m) => m.text);

async function callEnded(client: WireClient): Promise<Received> {
  const ended = await client.waitFor((m) => m.type === "call_ended", 20_000, "call_ended");
  assert.equal((await client.closed).code, 1000);
  return ended;
}

describe("Twilio media streams (signed)", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY, OTHER_KEY],
      twilio: { authToken: AUTH_TOKEN },
      resumeGraceMs: 1000,
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("both tracks: two channels with their labels on the stream's clock; Twilio is sent nothing", async () => {
    const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    // A subscriber may come before the call starts.
    const subscriber = await subscribe(url, twilio.callSid);
    twilio.start({ customParameters: { campaign: "renewals" } });
    await twilio.play(TRACKS, { speed: SPEED });
    twilio.stop();
    const ended = await callEnded(subscriber);
    assert.equal(ended.reason, "stopped");
    assert.equal((await twilio.closed).code, 1000);
    assert.deepEqual(twilio.received, [], "nothing is ever sent to Twilio");

    const messages = subscriber.messages;
    const started = messages[0];
    assert.equal(started?.type, "call_started");
    assert.equal(started?.cursor, 1);
    assert.equal(started?.call_sid, twilio.callSid);
    assert.equal(started?.stream_sid, twilio.streamSid);
    assert.deepEqual(started?.custom_parameters, { campaign: "renewals" });
    assert.deepEqual(started?.channels, [
      { channel: 0, speaker: "customer", track: "inbound" },
      { channel: 1, speaker: "agent", track: "outbound" },
    ]);
    assert.deepEqual(texts(finalsOf(messages, 0)), INBOUND_FINALS);
    assert.deepEqual(texts(finalsOf(messages, 1)), OUTBOUND_FINALS);
    const speakers: Record<number, string> = { 0: "customer", 1: "agent" };
    for (const m of messages.filter((m) => m.type === "transcript" || m.type === "utterance_end")) {
      assert.equal(m.speaker, speakers[m.channel as number], JSON.stringify(m));
    }
    assert.ok(
      messages.some((m) => m.type === "transcript" && m.is_final === false && m.channel === 1),
      "partials",
    );
    assert.ok(
      messages.some((m) => m.type === "utterance_end" && m.channel === 0),
      "utterance_end",
    );
    // Segment ids per channel; times on the stream's one clock (within a frame of the tones).
    const near = (ms: unknown, expected: number) => Math.abs((ms as number) - expected) <= 40;
    const inbound = finalsOf(messages, 0);
    assert.deepEqual(
      inbound.map((f) => f.segment_id),
      [0, 1],
    );
    assert.ok(near(inbound[0]?.start_ms, 0) && near(inbound[1]?.start_ms, 1500), JSON.stringify(inbound));
    const outbound = finalsOf(messages, 1);
    assert.equal(outbound[0]?.segment_id, 0);
    assert.ok(
      near(outbound[0]?.start_ms, OUTBOUND_START_MS) && near(outbound[0]?.end_ms, OUTBOUND_START_MS + 800),
      JSON.stringify(outbound),
    );
    // Cursors number what is kept (start, finals, end), one by one.
    const cursors = messages.filter((m) => m.cursor !== undefined).map((m) => m.cursor);
    assert.deepEqual(
      cursors,
      cursors.map((_, i) => i + 1),
    );
    assert.equal(ended.cursor, 5);
    assert.ok(near(ended.audio_ms, OUTBOUND_START_MS + 1400), `audio_ms ${ended.audio_ms}`);
  });

  it("refuses an upgrade with a wrong or missing signature before anything is decoded", async () => {
    const scraped = await scrape(url);
    const refusedWith = async (options: Parameters<typeof TwilioSimulator.connect>[0]) => {
      const error = await TwilioSimulator.connect(options).then(
        () => assert.fail("the upgrade was let in"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof UpgradeRefused, String(error));
      return error.status;
    };
    assert.equal(await refusedWith({ baseUrl: url, authToken: "not-the-auth-token" }), 403);
    assert.equal(await refusedWith({ baseUrl: url, signatureOverride: "" }), 403);
    assert.equal(await refusedWith({ baseUrl: url }), 401);
    // Signed for another host: the URL Twilio was given is part of what is signed.
    const elsewhere = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN, host: "calls.example.com" });
    elsewhere.ws.close();
    const signedForOther = twilioSignatureFor("wss://other.example.com/v1/twilio/media-stream");
    assert.equal(
      await refusedWith({ baseUrl: url, host: "calls.example.com", signatureOverride: signedForOther }),
      403,
    );
    const now = await scrape(url);
    const refused = (s: typeof now, reason: string) =>
      sample(s, `earshot_connections_refused_total{reason="${reason}"}`);
    assert.equal(refused(now, "invalid_signature") - refused(scraped, "invalid_signature"), 3);
    assert.equal(refused(now, "unauthorized") - refused(scraped, "unauthorized"), 1);
    const audio = (s: typeof now) => sample(s, "earshot_audio_received_seconds_total");
    assert.equal(audio(now), audio(scraped), "no audio was decoded");
  });

  it("a cut Twilio leg ends the call: the last finals flushed, call_ended connection_lost", async () => {
    const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    const subscriber = await subscribe(url, twilio.callSid);
    twilio.start();
    // Cut inside the caller's second utterance (1500–2100 ms), before the agent speaks.
    await twilio.play(TRACKS, { speed: SPEED, cutAtMs: 1800 });
    const ended = await callEnded(subscriber);
    assert.equal(ended.reason, "connection_lost");
    const finals = finalsOf(subscriber.messages, 0);
    assert.equal(finals.length, 2, JSON.stringify(texts(finals)));
    assert.equal(finals[0]?.text, "alpha bravo charlie delta echo");
    assert.match(String(finals[1]?.text), /^hotel\b/);
    assert.equal(finals[1]?.speech_final, false, "the utterance in progress was flushed, not ended by a pause");
    assert.deepEqual(finalsOf(subscriber.messages, 1), []);
    assert.equal(server.sessionCount, 0, "no channel session left streaming");
  });

  it("a subscriber that reconnects with its cursor, and one that comes after the end, get every final once", async () => {
    const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    const first = await subscribe(url, twilio.callSid);
    twilio.start();
    const playing = twilio.play(TRACKS, { speed: SPEED });
    await first.waitFor((m) => m.type === "transcript" && m.is_final === true, 10_000, "a first final");
    const cursor = Math.max(...first.messages.filter((m) => m.cursor !== undefined).map((m) => m.cursor as number));
    first.ws.terminate();
    // Away while the call goes on; back with the last cursor seen.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await subscribe(url, twilio.callSid, cursor);
    await playing;
    twilio.stop();
    await callEnded(second);
    const kept = [...first.messages, ...second.messages].filter((m) => m.cursor !== undefined);
    assert.deepEqual(
      kept.map((m) => m.cursor),
      kept.map((_, i) => i + 1),
      "every kept message once, in order",
    );
    assert.deepEqual(texts(finalsOf(kept, 0)), INBOUND_FINALS);
    assert.deepEqual(texts(finalsOf(kept, 1)), OUTBOUND_FINALS);

    const late = await subscribe(url, twilio.callSid);
    await callEnded(late);
    assert.deepEqual(
      late.messages.map((m) => m.cursor),
      kept.map((m) => m.cursor),
    );
    const fromCursor = await subscribe(url, twilio.callSid, 3);
    await callEnded(fromCursor);
    assert.deepEqual(
      fromCursor.messages.map((m) => m.cursor),
      [4, 5],
    );
  });

  it("faults are counted and the call goes on: bad JSON, unknown events, bad base64, out of order, early media, oversized", async () => {
    const scraped = await scrape(url);
    const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    const subscriber = await subscribe(url, twilio.callSid);
    const early = mulawFrames(INBOUND.subarray(0, 320))[0] ?? "";
    twilio.media("inbound", 1, 0, early); // media before start
    twilio.start({ tracks: ["inbound"] });
    twilio.sendRaw("{not json");
    twilio.sendRaw(Buffer.from([1, 2, 3])); // binary
    twilio.sendJson({ event: "transcode", sequenceNumber: "50" });
    twilio.sendJson({ event: "media", sequenceNumber: "51", streamSid: twilio.streamSid }); // no media field
    twilio.sendJson({
      event: "media",
      sequenceNumber: "1", // behind start's
      media: { track: "inbound", chunk: "1", timestamp: "0", payload: early },
      streamSid: twilio.streamSid,
    });
    twilio.sendJson({
      event: "media",
      sequenceNumber: "52",
      media: { track: "inbound", chunk: "1", timestamp: "0", payload: "!!not base64!!" },
      streamSid: twilio.streamSid,
    });
    twilio.sendRaw(JSON.stringify({ event: "mark", sequenceNumber: "53", padding: "x".repeat(70_000) }));
    twilio.sendJson({
      event: "media",
      sequenceNumber: "54",
      media: { track: "sideways", chunk: "1", timestamp: "0", payload: early },
      streamSid: twilio.streamSid,
    });
    twilio.sendJson({ event: "dtmf", streamSid: twilio.streamSid, dtmf: { track: "inbound_track", digit: "1" } });
    // The hand-made messages numbered up to 54: the call goes on from there.
    twilio.sequenceFrom(100);
    await twilio.play([TRACKS[0]], { speed: SPEED });
    twilio.stop();
    await callEnded(subscriber);
    assert.deepEqual(texts(finalsOf(subscriber.messages, 0)), INBOUND_FINALS);
    assert.deepEqual(twilio.received, []);
    const now = await scrape(url);
    const counted = (code: string) =>
      sample(now, `earshot_twilio_faults_total{code="${code}"}`) -
      sample(scraped, `earshot_twilio_faults_total{code="${code}"}`);
    assert.equal(counted("twilio_media_before_start"), 1);
    assert.equal(counted("twilio_bad_json"), 1);
    assert.equal(counted("twilio_binary_frame"), 1);
    assert.equal(counted("twilio_unknown_event"), 1);
    assert.equal(counted("twilio_invalid_message"), 1);
    assert.equal(counted("twilio_out_of_order"), 1);
    assert.equal(counted("twilio_bad_base64"), 1);
    assert.equal(counted("twilio_frame_too_large"), 1);
    assert.equal(counted("twilio_unknown_track"), 1);
  });

  it("timestamps are the clock: a gap is filled with silence, a jump beyond 10 s is a fault", async () => {
    const scraped = await scrape(url);
    const twilio = await TwilioSimulator.connect({ baseUrl: url, authToken: AUTH_TOKEN });
    const subscriber = await subscribe(url, twilio.callSid);
    twilio.start({ tracks: ["inbound"] });
    const tone = bursts([{ toneMs: 600, silenceMs: 700 }]);
    // Three utterances at 0, 1600 and 14 900 ms of stream time; Twilio sent no frames between them.
    let chunk = 0;
    for (const startMs of [0, 1600, 14_900]) {
      for (const [i, frame] of mulawFrames(tone).entries()) twilio.media("inbound", ++chunk, startMs + i * 20, frame);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    twilio.stop();
    await callEnded(subscriber);
    const finals = finalsOf(subscriber.messages, 0);
    const near = (ms: unknown, expected: number) => Math.abs((ms as number) - expected) <= 40;
    assert.equal(finals.length, 3, JSON.stringify(texts(finals)));
    assert.equal(finals[0]?.text, "alpha bravo charlie");
    // Named by their time on the stream's clock: the gap of 1 s was filled.
    assert.equal(finals[1]?.text, "india juliett kilo");
    assert.ok(near(finals[1]?.start_ms, 1600), JSON.stringify(finals[1]));
    // The jump of 12 s was filled with 10 s: the third utterance runs 2 s early.
    assert.ok(near(finals[2]?.start_ms, 12_900), JSON.stringify(finals[2]));
    const now = await scrape(url);
    assert.equal(
      sample(now, 'earshot_twilio_faults_total{code="twilio_timestamp_gap"}') -
        sample(scraped, 'earshot_twilio_faults_total{code="twilio_timestamp_gap"}'),
      1,
    );
  });

  it("a server shutdown ends a live call: its last finals, then call_ended server_shutting_down", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], twilio: { authToken: AUTH_TOKEN } });
    const { url: localUrl } = await local.listen({ port: 0 });
    await local.ready;
    const twilio = await TwilioSimulator.connect({ baseUrl: localUrl, authToken: AUTH_TOKEN });
    const subscriber = await subscribe(localUrl, twilio.callSid);
    twilio.start({ tracks: ["inbound"] });
    let chunk = 0;
    for (const [i, frame] of mulawFrames(INBOUND.subarray(0, 16 * 1800)).entries()) {
      twilio.media("inbound", ++chunk, i * 20, frame);
    }
    await subscriber.waitFor((m) => m.type === "transcript" && m.is_final === true, 10_000, "a first final");
    await local.close();
    const ended = await subscriber.waitFor((m) => m.type === "call_ended", 5000, "call_ended");
    assert.equal(ended.reason, "server_shutting_down");
    assert.deepEqual(
      texts(finalsOf(subscriber.messages, 0)).map((t) => String(t).split(" ")[0]),
      ["alpha", "hotel"],
      "the utterance in progress was flushed first",
    );
  });

  it("a Twilio leg that goes silent (no frames, no pongs) is cut and the call ends", async () => {
    const local = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      twilio: { authToken: AUTH_TOKEN },
      pingIntervalMs: 100,
      livenessTimeoutMs: 500,
    });
    const { url: localUrl } = await local.listen({ port: 0 });
    await local.ready;
    try {
      const twilio = await TwilioSimulator.connect({ baseUrl: localUrl, authToken: AUTH_TOKEN });
      const subscriber = await subscribe(localUrl, twilio.callSid);
      twilio.start({ tracks: ["inbound"] });
      await twilio.play([{ track: "inbound", pcm: INBOUND.subarray(0, 16 * 1200) }], { speed: SPEED });
      // The network goes: nothing more arrives from Twilio, and our pings go unanswered.
      (twilio.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const ended = await callEnded(subscriber);
      assert.equal(ended.reason, "connection_lost");
      assert.deepEqual(texts(finalsOf(subscriber.messages, 0)), ["alpha bravo charlie delta echo"]);
      const samples = await scrape(localUrl);
      assert.equal(sample(samples, 'earshot_peers_dropped_total{reason="no_pong"}'), 1);
      twilio.cut();
    } finally {
      await local.close();
    }
  });

  it("a subscriber needs an API key", async () => {
    await assert.rejects(WireClient.open(url, undefined, { path: eventsPath("CA123") }), /401/);
    await assert.rejects(WireClient.open(url, "wrong", { path: eventsPath("CA123") }), /401/);
    await assert.rejects(WireClient.open(url, KEY, { path: eventsPath("CA123", -1).replace("-1", "x") }), /400/);
  });
});

describe("Twilio media streams (stream token parameter)", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY, OTHER_KEY],
      resumeGraceMs: 1000,
      maxStreamsPerKey: 2,
      configTimeoutMs: 500,
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  async function mint(key = KEY): Promise<string> {
    const response = await fetch(`${url}/v1/auth/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(response.status, 200);
    return ((await response.json()) as { token: string }).token;
  }

  it("a valid token parameter opens the call, for its key's subscribers only", async () => {
    const token = await mint();
    const twilio = await TwilioSimulator.connect({ baseUrl: url });
    const subscriber = await subscribe(url, twilio.callSid);
    const stranger = await subscribe(url, twilio.callSid, undefined, OTHER_KEY);
    twilio.start({ customParameters: { token, agent: "7" }, tracks: ["inbound"] });
    const refused = await stranger.waitForError("not_found");
    assert.equal(refused.retryable, false);
    assert.equal((await stranger.closed).code, 1008);
    await assert.rejects(subscribe(url, twilio.callSid, undefined, OTHER_KEY), /404/);
    await twilio.play([TRACKS[0]], { speed: SPEED });
    twilio.stop();
    await callEnded(subscriber);
    assert.deepEqual(subscriber.messages[0]?.custom_parameters, { agent: "7" }, "the token is not passed on");
    assert.deepEqual(texts(finalsOf(subscriber.messages, 0)), INBOUND_FINALS);
  });

  it("no token, an unknown one, or a used one: closed at start, before any audio is decoded", async () => {
    const scraped = await scrape(url);
    const used = await mint();
    const first = await TwilioSimulator.connect({ baseUrl: url });
    first.start({ customParameters: { token: used }, tracks: ["inbound"] });
    first.stop();
    await first.closed;
    const refusals: Record<string, string>[] = [{}, { token: "est_unknown0000000000000000" }, { token: used }];
    for (const customParameters of refusals) {
      const twilio = await TwilioSimulator.connect({ baseUrl: url });
      twilio.start({ customParameters, tracks: ["inbound"] });
      const frames = mulawFrames(INBOUND.subarray(0, 16_000));
      for (const [i, frame] of frames.entries()) twilio.media("inbound", i + 1, i * 20, frame);
      assert.equal((await twilio.closed).code, 1008);
    }
    const now = await scrape(url);
    assert.equal(
      sample(now, 'earshot_twilio_faults_total{code="twilio_unauthorized"}') -
        sample(scraped, 'earshot_twilio_faults_total{code="twilio_unauthorized"}'),
      3,
    );
    const audio = (s: typeof now) => sample(s, "earshot_audio_received_seconds_total");
    assert.equal(audio(now), audio(scraped), "no audio was decoded");
  });

  it("a token's call counts against its key's connections; a stream that never starts is closed", async () => {
    const scraped = await scrape(url);
    const first = await TwilioSimulator.connect({ baseUrl: url });
    first.start({ customParameters: { token: await mint() }, tracks: ["inbound"] });
    // The key's two connections: the first call and its subscriber. A second call is one too many.
    const watcher = await subscribe(url, first.callSid);
    await watcher.waitFor((m) => m.type === "call_started");
    const second = await TwilioSimulator.connect({ baseUrl: url });
    second.start({ customParameters: { token: await mint() }, tracks: ["inbound"] });
    assert.equal((await second.closed).code, 1008);
    first.stop();
    assert.equal((await first.closed).code, 1000);
    await callEnded(watcher);
    const silent = await TwilioSimulator.connect({ baseUrl: url });
    assert.equal((await silent.closed).code, 1008);
    const now = await scrape(url);
    const counted = (code: string) =>
      sample(now, `earshot_twilio_faults_total{code="${code}"}`) -
      sample(scraped, `earshot_twilio_faults_total{code="${code}"}`);
    assert.equal(counted("twilio_too_many_streams"), 1);
    assert.equal(counted("twilio_start_timeout"), 1);
  });
});

function twilioSignatureFor(url: string): string {
  return twilioSignature(AUTH_TOKEN, url);
}
