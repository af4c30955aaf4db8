/**
 * MultichannelClient against a real earshot server (TestEngine) on 127.0.0.1, port 0: a stereo
 * "call" on one connection (`channels: 2`, which this server takes), and as one stream per channel
 * (`oneConnection: false`, what a server before two-channel streams gets). The TestEngine names each word by its start time
 * (TEST_WORDS[floor(startMs / 200)]), so words show both which channel they came from and when.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { concatPcm, interleavePcm, mulawEncode, Resampler } from "@earshot/audio";
import { TEST_WORDS, TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { MultichannelClient, type MultichannelClientOptions, nodeTransport } from "./index.js";
import type { ChannelTranscriptMessage, MultichannelEvents } from "./multichannel.js";
import type { Transport, TransportFactory } from "./transport.js";

const KEY = "test-key";
const tone = (ms: number) =>
  Int16Array.from({ length: ms * 16 }, (_, i) => Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));
const silence = (ms: number) => new Int16Array(ms * 16);

/** The customer speaks at 0–1000 ms and 2500–2900 ms, the agent at 1500–2100 ms: 4 s in all. */
const CUSTOMER = concatPcm(tone(1000), silence(1500), tone(400), silence(1100));
const AGENT = concatPcm(silence(1500), tone(600), silence(1900));
const STEREO = interleavePcm([CUSTOMER, AGENT]);
const words = (from: number, count: number) => TEST_WORDS.slice(from, from + count).join(" ");
const EXPECTED = [
  ["customer", 0, words(0, 5)],
  ["agent", 1, words(7, 3)],
  ["customer", 0, words(12, 2)],
];
const RECONNECT = { baseDelayMs: 20, maxDelayMs: 200, random: () => 0.5 };

let server: EarshotServer;
let url: string;

before(async () => {
  server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
  ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
  await server.ready;
});
after(() => server.close());

/** A client whose channels' transports the test can reach (to cut a connection). */
function start(options: Partial<MultichannelClientOptions> = {}, oneConnection = true) {
  const transports: Transport[] = [];
  const transport: TransportFactory = (request, handlers) => {
    const made = nodeTransport(request, handlers);
    transports.push(made);
    return made;
  };
  const client = new MultichannelClient({
    url,
    apiKey: KEY,
    channels: 2,
    speakers: ["customer", "agent"],
    transport,
    reconnect: RECONNECT,
    oneConnection,
    ...options,
  });
  const seen = { finals: [] as ChannelTranscriptMessage[], states: [] as MultichannelEvents["state"][] };
  client.on("final", (m) => seen.finals.push(m));
  client.on("state", (s) => seen.states.push(s));
  return { client, transports, ...seen };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const oneConnection of [true, false]) {
  describe(`MultichannelClient against a real server, ${oneConnection ? "one connection" : "one stream per channel"}`, () => {
    test("finals tagged with channel and speaker, the transcript in time order", async () => {
      const { client, finals, transports } = start({}, oneConnection);
      const sessions = await client.connect();
      assert.equal(client.oneConnection, oneConnection);
      if (oneConnection) {
        assert.equal(sessions.length, 1);
        assert.equal(sessions[0]?.config.channels, 2);
      } else {
        assert.equal(sessions.length, 2);
        assert.notEqual(sessions[0]?.session_id, sessions[1]?.session_id);
      }
      // 20 ms of stereo at a time, cut mid-frame now and then, as a capture callback might.
      for (let at = 0; at < STEREO.length; at += 641) client.send(STEREO.subarray(at, at + 641));
      const result = await client.close();
      assert.deepEqual(
        result.channels.map((r) => r.code),
        [1000, 1000],
      );
      assert.equal(result.lostMs, 0);
      assert.deepEqual(
        client.transcript.segments.map((s) => [s.speaker, s.channel, s.text]),
        EXPECTED,
      );
      for (const final of finals) {
        assert.equal(final.speaker, final.channel === 0 ? "customer" : "agent");
        assert.equal(final.type, "transcript");
      }
      assert.deepEqual(finals.map((f) => f.text).sort(), EXPECTED.map((e) => e[2]).sort());
      assert.equal(client.transcript.channel(1).finalText, words(7, 3));
      assert.throws(() => client.send(STEREO), /invalid_state|closed/);
      assert.equal(transports.length, oneConnection ? 1 : 2);
    });

    test("a dropped connection resumes: the same transcript, each channel's finals once", async () => {
      const { client, transports, finals, states } = start({}, oneConnection);
      await client.connect();
      const frame = 100 * 16 * 2;
      for (let at = 0, i = 0; at < STEREO.length; at += frame, i++) {
        // Channels dial in order (an API key needs no token fetch): transports[0] is the customer's
        // first connection, [1] the agent's. Cut the agent's while the agent speaks (1.6 s), then the
        // customer's (2.7 s).
        // One connection: cut it at both moments.
        if (i === 16) transports[oneConnection ? 0 : 1]?.terminate?.();
        if (i === 27) (oneConnection ? transports.at(-1) : transports[0])?.terminate?.();
        client.send(STEREO.subarray(at, at + frame));
        await sleep(10);
      }
      const result = await client.close();
      assert.equal(result.lostMs, 0);
      assert.deepEqual(
        client.transcript.segments.map((s) => [s.speaker, s.channel, s.text]),
        EXPECTED,
      );
      const keys = finals.map((f) => `${f.channel}:${f.segment_id}`);
      assert.equal(new Set(keys).size, keys.length, `a final twice: ${keys.join(" ")}`);
      const reconnected = states.filter((s) => s.from === "reconnecting" && s.to === "open");
      const perCut = [
        [0, "customer", true],
        [1, "agent", true],
      ];
      assert.deepEqual(
        reconnected.map((s) => [s.channel, s.speaker, s.resumed]).sort(),
        oneConnection ? [perCut[0], perCut[0], perCut[1], perCut[1]] : perCut,
      );
    });

    test("seed mode: hex audio_chunk messages (a seed preset's overlap dropped)", async () => {
      const { client } = start({ mode: "seed" }, oneConnection);
      await client.connect();
      assert.deepEqual(
        client.clients.map((c) => c.chunking.overlapMs),
        oneConnection ? [0] : [100, 100],
      );
      for (let at = 0; at < STEREO.length; at += 3200) client.send(STEREO.subarray(at, at + 3200));
      const result = await client.close();
      assert.equal(result.lostMs, 0);
      assert.deepEqual(
        client.transcript.segments.map((s) => [s.speaker, s.channel, s.text]),
        EXPECTED,
      );
    });

    test("G.711 input (μ-law channels interleaved byte by byte, 8 kHz), sent as μ-law", async () => {
      const { client } = start(
        { input: { encoding: "mulaw" }, encoding: "mulaw", speakers: ["customer"] },
        oneConnection,
      );
      await client.connect();
      const to8k = (pcm: Int16Array) => {
        const resampler = new Resampler({ inputRate: 16_000, outputRate: 8000 });
        return mulawEncode(concatPcm(resampler.push(pcm), resampler.flush()));
      };
      const [left, right] = [to8k(CUSTOMER), to8k(AGENT)] as [Uint8Array, Uint8Array];
      const bytes = new Uint8Array(left.length * 2);
      left.forEach((b, i) => {
        bytes[2 * i] = b;
        bytes[2 * i + 1] = right[i] as number;
      });
      for (let at = 0; at < bytes.length; at += 333) client.send(bytes.subarray(at, at + 333));
      await client.close();
      const segments = client.transcript.segments;
      assert.deepEqual(
        segments.map((s) => [s.speaker, s.channel]),
        [
          ["customer", 0],
          [undefined, 1],
          ["customer", 0],
        ],
      );
      // Each channel's words lie where its speaker spoke (give or take the filters' ringing).
      const spoken: [number, number][][] = [
        [
          [0, 1000],
          [2500, 2900],
        ],
        [[1500, 2100]],
      ];
      for (const word of client.transcript.finalWords) {
        const inside = spoken[word.channel]?.some(([from, to]) => word.startMs >= from - 60 && word.endMs <= to + 260);
        assert.ok(inside, `channel ${word.channel}: ${word.word} at ${word.startMs}–${word.endMs}`);
      }
    });

    test("a stream refused at connect closes the others and rejects", async () => {
      const client = new MultichannelClient({ url, apiKey: "wrong", channels: 2, reconnect: false, oneConnection });
      await assert.rejects(client.connect(), { code: "unauthorized" });
      assert.deepEqual(
        client.clients.map((c) => c.state),
        oneConnection ? ["closed"] : ["closed", "closed"],
      );
    });
  });
}

describe("MultichannelClient on one connection, its session lost", () => {
  test("a new session starts each channel at the end of its own last final: the same transcript, each final once", async () => {
    // The session ends 50 ms after its connection drops; the client comes back after ~270 ms.
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], resumeGraceMs: 50 });
    const { url: localUrl } = await local.listen({ host: "127.0.0.1", port: 0 });
    try {
      await local.ready;
      const { client, transports, finals } = start({
        url: localUrl,
        reconnect: { baseDelayMs: 300, maxDelayMs: 300, random: () => 0.9 },
      });
      const sessions: string[] = [];
      client.clients[0]?.on("session", (s) => sessions.push(s.session_id));
      await client.connect();
      // Up to 2.45 s: the customer's first final (ends 1.0 s) and the agent's (ends 2.1 s) are out.
      const cut = 16 * 2450 * 2;
      client.send(STEREO.subarray(0, cut));
      while (finals.length < 2) await sleep(10);
      transports[0]?.terminate?.();
      client.send(STEREO.subarray(cut));
      const result = await client.close();
      assert.equal(result.lostMs, 0);
      assert.equal(sessions.length, 2, "a second session after session_not_found");
      assert.deepEqual(
        client.transcript.segments.map((s) => [s.speaker, s.channel, s.text]),
        EXPECTED,
      );
      const keys = finals.map((f) => `${f.channel}:${f.segment_id}`);
      assert.deepEqual(keys.sort(), ["0:0", "0:1", "1:0"]);
    } finally {
      await local.close();
    }
  });
});
