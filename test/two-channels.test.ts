/**
 * Two channels on one connection (`config.channels: 2`) at the wire level, with the TestEngine
 * (words named by their start time: TEST_WORDS[floor(startMs / 200)]), so each word shows which
 * channel's audio it came from and when. Mechanics only; test/two-channels-speech.test.ts runs
 * real speech through PocketSphinx.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { interleavePcm, mulawEncode } from "@earshot/audio";
import { TEST_WORDS, TestEngine } from "@earshot/engines";
import { CloseCode } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import { bursts, toBytes } from "./helpers/signals.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "two-channel-key";
const OTHER_KEY = "other-key";
const THIRD_KEY = "third-key";
const CONFIG = { model: "test", language: "en", channels: 2 } as const;
const MONO = { model: "test", language: "en" } as const;
/** Left: 1 s tone at 0 and 0.6 s at 2.5 s; right: 0.6 s tone at 1.5 s (4 s each). */
const LEFT = bursts([
  { toneMs: 1000, silenceMs: 1500 },
  { toneMs: 600, silenceMs: 900 },
]);
const RIGHT = bursts([
  { toneMs: 0, silenceMs: 1500 },
  { toneMs: 600, silenceMs: 1900 },
]);
const STEREO = interleavePcm([LEFT, RIGHT]);
const words = (from: number, count: number) => TEST_WORDS.slice(from, from + count).join(" ");
/** [channel, segment_id, text, start_ms, end_ms] of every final. */
const EXPECTED = [
  [0, 0, words(0, 5), 0, 1000],
  [0, 1, words(12, 3), 2500, 3100],
  [1, 0, words(7, 3), 1500, 2100],
];
/** 100 ms of stereo PCM16: 1600 frames of 4 bytes. */
const FRAME_BYTES = 4;
const CHUNK = 1600 * 2;

const finalsOf = (...clients: WireClient[]): Received[] => clients.flatMap((c) => c.finals());
const byChannel = (finals: Received[]) =>
  finals
    .map((f) => [f.channel, f.segment_id, f.text, f.start_ms, f.end_ms])
    .sort((a, b) => Number(a[0]) - Number(b[0]) || Number(a[1]) - Number(b[1]));

async function open(
  url: string,
  config: object = CONFIG,
  key = KEY,
): Promise<{ client: WireClient; started: Received }> {
  const client = await WireClient.open(url, key);
  client.sendJson({ type: "config", config });
  const started = await client.waitFor((m) => m.type === "session_started" || m.type === "error");
  return { client, started };
}

function sendStereo(client: WireClient, stereo: Int16Array, from = 0, to = stereo.length / 2): void {
  for (let frame = from; frame < to; frame += CHUNK / 2) {
    client.sendBinary(toBytes(stereo.subarray(frame * 2, Math.min(to, frame + CHUNK / 2) * 2)));
  }
}

describe("two channels on one connection", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY, "small-key"], resumeGraceMs: 2000 });
    ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("one session_started echoing channels: 2; finals tagged by channel, each channel its own segment ids", async () => {
    const { client, started } = await open(url);
    assert.equal(started.type, "session_started");
    assert.equal((started.config as { channels: number }).channels, 2);
    assert.equal(client.messages.filter((m) => m.type === "session_started").length, 1);
    sendStereo(client, STEREO);
    // Acks come every 250 ms of audio, then once a second: the last acks every frame of both channels.
    await client.waitFor((m) => m.type === "ack" && m.received_samples === 64_000, 5000, "ack of every frame");
    client.sendJson({ type: "close_stream" });
    const closed = await client.waitFor((m) => m.type === "stream_closed");
    assert.equal(closed.audio_ms, 4000);
    assert.equal((await client.closed).code, CloseCode.normal);
    assert.deepEqual(byChannel(client.finals()), EXPECTED);
    const ends = client.messages.filter((m) => m.type === "utterance_end");
    assert.deepEqual(ends.map((m) => m.channel).sort(), [0, 0, 1]);
    for (const partial of client.messages.filter((m) => m.type === "transcript" && m.is_final === false)) {
      assert.ok(partial.channel === 0 || partial.channel === 1, "a partial without its channel");
    }
    const acks = client.messages.filter((m) => m.type === "ack").map((m) => m.received_samples as number);
    assert.deepEqual(
      acks,
      [...acks].sort((a, b) => a - b),
      "acks never go back",
    );
    assert.equal(client.messages.filter((m) => m.type === "stream_closed").length, 1);
  });

  it("one channel's audio ends up in its own channel only (a silent side gives no finals)", async () => {
    const { client } = await open(url);
    sendStereo(client, interleavePcm([new Int16Array(LEFT.length), RIGHT]));
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(
      byChannel(client.finals()),
      EXPECTED.filter((f) => f[0] === 1),
    );
  });

  it("hex audio_chunk messages carry frames too", async () => {
    const { client } = await open(url);
    for (let frame = 0; frame < STEREO.length / 2; frame += 800) {
      client.sendJson({
        type: "audio_chunk",
        audio: toBytes(STEREO.subarray(frame * 2, (frame + 800) * 2)).toString("hex"),
      });
    }
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(byChannel(client.finals()), EXPECTED);
  });

  it("G.711 interleaves byte by byte; positions count 16 kHz samples of each channel", async () => {
    const { client, started } = await open(url, { ...CONFIG, encoding: "mulaw", sample_rate: 8000 });
    assert.equal(started.type, "session_started");
    // The TestEngine hears a tone at 16 kHz; upsampled 8 kHz tones keep its times (±1 word at edges).
    const down = (pcm: Int16Array) => mulawEncode(pcm.filter((_, i) => i % 2 === 0));
    const left = down(LEFT);
    const right = down(RIGHT);
    const stereo = new Uint8Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      stereo[2 * i] = left[i] as number;
      stereo[2 * i + 1] = right[i] as number;
    }
    for (let at = 0; at < stereo.length; at += 1600) client.sendBinary(stereo.subarray(at, at + 1600));
    await client.waitFor((m) => m.type === "ack" && m.received_samples === 64_000, 5000, "ack of every frame");
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(
      byChannel(client.finals()).map((f) => [f[0], f[1]]),
      EXPECTED.map((f) => [f[0], f[1]]),
    );
  });

  it("refuses Opus, overlap and resume_state with two channels; a partial frame is invalid_audio and the stream goes on", async () => {
    for (const [config, code] of [
      [{ ...CONFIG, encoding: "opus" }, "unsupported_encoding"],
      [{ ...CONFIG, chunk_overlap_ms: 20 }, "unsupported_encoding"],
      [{ ...CONFIG, resume_state: "e30" }, "invalid_resume_state"],
      [{ ...CONFIG, channels: 3 }, "invalid_message"],
    ] as const) {
      const { client, started } = await open(url, config);
      assert.equal(started.type, "error", JSON.stringify(config));
      assert.equal(started.code, code, JSON.stringify(config));
      client.ws.close();
    }
    const { client } = await open(url);
    client.sendBinary(new Uint8Array(FRAME_BYTES * 10 + 2));
    await client.waitForError("invalid_audio");
    sendStereo(client, STEREO);
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(byChannel(client.finals()), EXPECTED);
  });

  it("resumes with a last segment id per channel: each channel's missed finals once, audio from the acked frame", async () => {
    const first = await open(url);
    const token = first.started.resume_token as string;
    // Up to 2.48 s: the left channel's first final and the right channel's only one are out.
    const cut = 16 * 2480;
    sendStereo(first.client, STEREO, 0, cut);
    await first.client.waitFor((m) => m.type === "ack" && m.received_samples === cut, 5000, "ack of the cut");
    await first.client.waitFor((m) => m.type === "transcript" && m.is_final === true && m.channel === 1);
    first.client.ws.terminate();
    assert.deepEqual(
      byChannel(first.client.finals()).map((f) => [f[0], f[1]]),
      [
        [0, 0],
        [1, 0],
      ],
    );

    // The client says it has the right channel's segment 0, but none of the left's: different ids.
    const second = await WireClient.open(url, KEY);
    second.sendJson({ type: "resume", resume_token: token, last_segment_id: 0 });
    await second.waitForError("invalid_message");
    second.sendJson({ type: "resume", resume_token: token, last_segment_ids: [-1, 0] });
    const resumed = await second.waitFor((m) => m.type === "session_resumed");
    assert.equal(resumed.received_samples, cut);
    assert.equal(resumed.session_id, first.started.session_id);
    const resumedAt = second.messages.indexOf(resumed);
    const redelivered = second.finals();
    assert.ok(
      redelivered.every((f) => second.messages.indexOf(f) > resumedAt),
      "finals follow session_resumed",
    );
    assert.deepEqual(
      redelivered.map((f) => [f.channel, f.segment_id]),
      [[0, 0]],
    );
    sendStereo(second, STEREO, cut);
    second.sendJson({ type: "close_stream" });
    await second.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(
      byChannel(second.finals()),
      EXPECTED.filter((f) => !(f[0] === 1 && f[1] === 0)),
    );
    assert.deepEqual(
      byChannel(finalsOf(first.client, second)).length,
      EXPECTED.length + 1,
      "the left's 0 twice: asked for",
    );
  });

  it("channels whose decoders were given back resume at different frames; the client replays from the lower", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], holdDecoderMs: 0 });
    const { url: localUrl } = await local.listen({ host: "127.0.0.1", port: 0 });
    try {
      await local.ready;
      const first = await open(localUrl);
      // 2.48 s: the right channel's final ends at 2.1 s, the left's at 1.0 s.
      const cut = 16 * 2480;
      sendStereo(first.client, STEREO, 0, cut);
      await first.client.waitFor((m) => m.type === "transcript" && m.is_final === true && m.channel === 1);
      await first.client.waitFor((m) => m.type === "ack" && m.received_samples === cut);
      first.client.ws.terminate();
      await new Promise((resolve) => setTimeout(resolve, 200)); // both give their decoders back
      const second = await WireClient.open(localUrl, KEY);
      second.sendJson({ type: "resume", resume_token: first.started.resume_token, last_segment_ids: [0, 0] });
      const resumed = await second.waitFor((m) => m.type === "session_resumed");
      // The left channel restarts at the end of its last final (1.0 s), the right at 2.1 s.
      assert.equal(resumed.received_samples, 16 * 1000);
      sendStereo(second, STEREO, resumed.received_samples as number);
      second.sendJson({ type: "close_stream" });
      await second.waitFor((m) => m.type === "stream_closed");
      const all = byChannel(finalsOf(first.client, second));
      assert.deepEqual(all, EXPECTED, "each channel's finals once, with the uninterrupted run's words and times");
    } finally {
      await local.close();
    }
  });

  it("a lost session's successor starts each channel at the end of its own last final: each final once", async () => {
    const first = await open(url);
    const cut = 16 * 2480;
    sendStereo(first.client, STEREO, 0, cut);
    await first.client.waitFor((m) => m.type === "transcript" && m.is_final === true && m.channel === 1);
    await first.client.waitFor((m) => m.type === "ack" && m.received_samples === cut);
    first.client.ws.close(); // 1000: the session ends, as when its server is gone
    const lasts = [0, 1].map((channel) =>
      first.client
        .finals()
        .filter((f) => f.channel === channel)
        .at(-1),
    );
    const ends = lasts.map((f) => 16 * Number(f?.end_ms));
    assert.deepEqual(ends, [16 * 1000, 16 * 2100]);

    const config = {
      ...CONFIG,
      start_sample: Math.min(...ends),
      start_samples: ends,
      first_segment_ids: lasts.map((f) => Number(f?.segment_id) + 1),
    };
    const { client, started } = await open(url, config);
    assert.equal(started.type, "session_started", JSON.stringify(started));
    const announced = started.config as Record<string, unknown>;
    assert.deepEqual(
      [announced.start_sample, announced.start_samples, announced.first_segment_ids],
      [16 * 1000, ends, [1, 1]],
    );
    sendStereo(client, STEREO, Math.min(...ends));
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(byChannel(finalsOf(first.client, client)), EXPECTED);

    for (const [bad, why] of [
      [{ ...MONO, start_samples: [0, 0] }, /two-channel/],
      [{ ...CONFIG, start_sample: 100, start_samples: [50, 100] }, /before start_sample/],
      [{ ...CONFIG, first_segment_ids: [1] }, /first_segment_ids/],
    ] as const) {
      const refused = await open(url, bad);
      assert.equal(refused.started.code, "invalid_message", JSON.stringify(bad));
      assert.match(String(refused.started.message), why);
      refused.client.ws.close();
    }
  });

  it("a one-channel session's resume with two ids, and a resume without any, are invalid_message", async () => {
    const { client, started } = await open(url, MONO);
    client.ws.terminate();
    const again = await WireClient.open(url, KEY);
    again.sendJson({ type: "resume", resume_token: started.resume_token, last_segment_ids: [-1, -1] });
    await again.waitForError("invalid_message");
    again.sendJson({ type: "resume", resume_token: started.resume_token });
    await again.waitFor(() => again.messages.filter((m) => m.code === "invalid_message").length === 2);
    again.sendJson({ type: "resume", resume_token: started.resume_token, last_segment_ids: [-1] });
    await again.waitFor((m) => m.type === "session_resumed");
    again.sendJson({ type: "close_stream" });
    await again.waitFor((m) => m.type === "stream_closed");
  });

  it("a server shutting down gives both channels' last finals, then one server_shutting_down", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url: localUrl } = await local.listen({ host: "127.0.0.1", port: 0 });
    await local.ready;
    const { client } = await open(localUrl);
    // 2 s of both channels: the right one is mid-utterance (from 1.5 s), so its final can only come
    // from the shutdown's flush.
    sendStereo(client, STEREO, 0, 16 * 2000);
    await client.waitFor((m) => m.type === "ack" && m.received_samples === 16 * 2000, 5000, "ack");
    await local.close();
    const { code } = await client.closed;
    assert.equal(code, CloseCode.serviceRestart);
    const errors = client.messages.filter((m) => m.type === "error");
    assert.deepEqual(
      errors.map((m) => m.code),
      ["server_shutting_down"],
    );
    assert.deepEqual(
      byChannel(client.finals()).map((f) => [f[0], f[1], f[2]]),
      [
        [0, 0, words(0, 5)],
        [1, 0, words(7, 3)],
      ],
    );
  });

  it("counts two streams against the key's limit, and admission checks room for two", async () => {
    const local = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY, OTHER_KEY, THIRD_KEY],
      maxStreamsPerKey: 3,
      admission: { maxStreams: 3 },
    });
    const { url: localUrl } = await local.listen({ host: "127.0.0.1", port: 0 });
    try {
      await local.ready;
      const stereo = await open(localUrl);
      assert.equal(stereo.started.type, "session_started");
      assert.equal(local.sessionCount, 1);
      // Two of the key's three streams are held: one more mono stream fits, a second stereo one does not.
      const second = await open(localUrl);
      assert.equal(second.started.type, "error");
      assert.equal(second.started.code, "too_many_streams");
      assert.equal((await second.client.closed).code, CloseCode.policyViolation);
      const mono = await open(localUrl, MONO);
      assert.equal(mono.started.type, "session_started");
      // Three of three: the upgrade itself is refused now.
      await assert.rejects(WireClient.open(localUrl, KEY), /429/);
      mono.client.sendJson({ type: "close_stream" });
      await mono.client.closed;
      stereo.client.sendJson({ type: "close_stream" });
      await stereo.client.closed;
      // Node limit: three streams in all. With two mono streams (of two keys) held, a stereo one
      // that its key's limit lets in needs two more: refused; a third mono one fits.
      // (Keys other than the first, whose closed connections may not have been counted out yet.)
      const monos = [await open(localUrl, MONO, THIRD_KEY), await open(localUrl, MONO, OTHER_KEY)];
      const refused = await open(localUrl, CONFIG, OTHER_KEY);
      assert.equal(refused.started.type, "error");
      assert.equal(refused.started.code, "over_capacity");
      assert.match(String(refused.started.message), /needs 2/);
      const third = await open(localUrl, MONO, THIRD_KEY);
      assert.equal(third.started.type, "session_started");
      for (const { client } of [...monos, third]) client.ws.close();
    } finally {
      await local.close();
    }
  });
});
