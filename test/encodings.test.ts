/**
 * Encodings on the wire (docs/protocol.md, "Encodings"), at the wire level with the test engine:
 * every encoding round-trips, positions (acks, `received_samples`, `audio_ms`) count 16 kHz samples
 * of decoded audio, a dropped connection resumes exactly with each encoding, and bad configs and
 * bad packets get their documented errors without ending the stream.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createWireEncoder } from "@earshot/client";
import { TestEngine } from "@earshot/engines";
import { CloseCode, ENCODING_SAMPLE_RATES, ENCODINGS, type Encoding } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import { bursts } from "./helpers/signals.js";
import { type Received, WireClient } from "./helpers/ws-client.js";

const KEY = "encodings-key";
/** Two utterances: 1 s tone, 0.5 s pause, 0.6 s tone, 0.7 s pause (2.8 s). */
const SIGNAL = bursts([
  { toneMs: 1000, silenceMs: 500 },
  { toneMs: 600, silenceMs: 700 },
]);
const EXPECTED = ["alpha bravo charlie delta echo", "hotel india juliett"];
const STEP = 1600;

async function start(url: string, encoding: Encoding): Promise<{ client: WireClient; started: Received }> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: { model: "test", encoding } });
  const started = await client.waitFor((m) => m.type === "session_started");
  return { client, started };
}

/** Encodes `pcm[from, to)` with `encoder` in 100 ms pieces and sends each payload as a binary frame. */
function sendEncoded(client: WireClient, encoder: ReturnType<typeof createWireEncoder>, from: number, to: number) {
  for (let at = from; at < to; at += STEP) {
    for (const payload of encoder.encode(SIGNAL.subarray(at, Math.min(to, at + STEP)))) client.sendBinary(payload);
  }
}

async function closeStream(client: WireClient, encoder: ReturnType<typeof createWireEncoder>): Promise<Received> {
  for (const payload of encoder.flush()) client.sendBinary(payload);
  client.sendJson({ type: "close_stream" });
  const closed = await client.waitFor((m) => m.type === "stream_closed");
  assert.equal((await client.closed).code, CloseCode.normal);
  return closed;
}

const texts = (...clients: WireClient[]) => clients.flatMap((c) => c.finals()).map((f) => [f.segment_id, f.text]);

describe("encodings", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: new TestEngine(), apiKeys: [KEY], resumeGraceMs: 2000 });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  for (const encoding of ENCODINGS) {
    it(`${encoding}: round-trips, with positions in 16 kHz samples`, async () => {
      const { client, started } = await start(url, encoding);
      const config = started.config as Record<string, unknown>;
      assert.equal(config.encoding, encoding);
      assert.equal(config.sample_rate, ENCODING_SAMPLE_RATES[encoding]);
      const encoder = createWireEncoder(encoding);
      sendEncoded(client, encoder, 0, SIGNAL.length);
      const closed = await closeStream(client, encoder);
      assert.equal(closed.audio_ms, SIGNAL.length / 16);
      assert.deepEqual(texts(client), [
        [0, EXPECTED[0]],
        [1, EXPECTED[1]],
      ]);
      encoder.close();
    });

    it(`${encoding}: a dropped connection resumes at received_samples and the words come out the same`, async () => {
      const first = await start(url, encoding);
      const cut = 16 * 1800; // in the middle of the second tone; a whole number of bytes and packets
      const encoder = createWireEncoder(encoding);
      sendEncoded(first.client, encoder, 0, cut);
      // G.711 bytes lag the input by the downsampler's look-ahead: the server has what was sent.
      const ack = await first.client.waitFor(
        (m) => m.type === "ack" && (m.received_samples as number) >= cut - 16 * 20,
        5000,
        "ack near the cut",
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const lastAck = first.client.messages.filter((m) => m.type === "ack").at(-1) ?? ack;
      first.client.ws.terminate();
      encoder.close();

      const second = await WireClient.open(url, KEY);
      second.sendJson({ type: "resume", resume_token: first.started.resume_token, last_segment_id: 0 });
      const resumed = await second.waitFor((m) => m.type === "session_resumed");
      const at = resumed.received_samples as number;
      assert.ok(at >= (lastAck.received_samples as number) && at <= cut, `resumed at ${at}`);
      assert.equal(at % (encoding === "mulaw" || encoding === "alaw" ? 2 : 1), 0);
      if (encoding === "opus") assert.equal(at % 320, 0, "whole 20 ms packets");
      const rest = createWireEncoder(encoding);
      sendEncoded(second, rest, at, SIGNAL.length);
      const closed = await closeStream(second, rest);
      rest.close();
      assert.equal(closed.audio_ms, SIGNAL.length / 16);
      assert.deepEqual(texts(first.client, second), [
        [0, EXPECTED[0]],
        [1, EXPECTED[1]],
      ]);
    });
  }

  it("hex audio_chunk carries G.711 bytes (2 hex digits a sample)", async () => {
    const { client } = await start(url, "alaw");
    const encoder = createWireEncoder("alaw");
    for (let at = 0; at < SIGNAL.length; at += 8000) {
      for (const payload of encoder.encode(SIGNAL.subarray(at, at + 8000))) {
        client.sendJson({ type: "audio_chunk", audio: Buffer.from(payload).toString("hex") });
      }
    }
    for (const payload of encoder.flush()) {
      client.sendJson({ type: "audio_chunk", audio: Buffer.from(payload).toString("hex") });
    }
    client.sendJson({ type: "close_stream" });
    const closed = await client.waitFor((m) => m.type === "stream_closed");
    assert.equal(closed.audio_ms, SIGNAL.length / 16);
    assert.deepEqual(texts(client), [
      [0, EXPECTED[0]],
      [1, EXPECTED[1]],
    ]);
  });

  it("8 kHz streams get the band extension (the server's default, or their own), 16 kHz ones never", async () => {
    const announced = async (config: Record<string, unknown>) => {
      const client = await WireClient.open(url, KEY);
      client.sendJson({ type: "config", config: { model: "test", ...config } });
      const started = await client.waitFor((m) => m.type === "session_started");
      client.ws.close();
      return (started.config as Record<string, unknown>).band_extension_db;
    };
    assert.equal(await announced({ encoding: "mulaw" }), 0);
    assert.equal(await announced({ encoding: "alaw", band_extension_db: -20 }), -20);
    assert.equal(await announced({ encoding: "mulaw", band_extension_db: "off" }), "off");
    assert.equal(await announced({ encoding: "pcm_s16le", band_extension_db: -5 }), undefined);
    assert.equal(await announced({ encoding: "opus" }), undefined);
  });

  it("a band_extension_db out of range is invalid_message", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { model: "test", encoding: "mulaw", band_extension_db: 3 } });
    const error = await client.waitForError("invalid_message");
    assert.match(error.message as string, /band_extension_db/);
    client.ws.close();
  });

  describe("bad input", () => {
    const refused = async (config: Record<string, unknown>, pattern: RegExp) => {
      const client = await WireClient.open(url, KEY);
      client.sendJson({ type: "config", config: { model: "test", ...config } });
      const error = await client.waitForError("unsupported_encoding");
      assert.match(error.message as string, pattern);
      // The connection stays open for a corrected config.
      client.sendJson({ type: "config", config: { model: "test", encoding: "mulaw" } });
      await client.waitFor((m) => m.type === "session_started");
      client.ws.close();
    };

    it("an unknown encoding is unsupported_encoding, listing the supported ones", () =>
      refused({ encoding: "flac" }, /"flac".*pcm_s16le, mulaw, alaw, opus/));

    it("a sample_rate that does not match the encoding is unsupported_encoding", async () => {
      await refused({ encoding: "mulaw", sample_rate: 16_000 }, /does not match mulaw: send 8000 Hz/);
      await refused({ encoding: "opus", sample_rate: 48_000 }, /does not match opus: send 16000 Hz/);
      await refused({ sample_rate: 8000 }, /does not match pcm_s16le: send 16000 Hz/);
    });

    it("an overlap with a compressed encoding is unsupported_encoding", () =>
      refused({ encoding: "opus", chunk_overlap_ms: 100 }, /chunk_overlap_ms must be 0 with opus/));

    it("an undecodable Opus packet is invalid_audio; the stream goes on and its position does not move", async () => {
      const { client } = await start(url, "opus");
      const encoder = createWireEncoder("opus");
      sendEncoded(client, encoder, 0, 16 * 1000);
      await client.waitFor((m) => m.type === "ack" && m.received_samples === 16 * 1000);
      client.sendBinary(Uint8Array.of(0x01, 0x00)); // code 1 (two equal frames) with an odd payload
      const error = await client.waitForError("invalid_audio");
      assert.match(error.message as string, /Opus packet/);
      client.sendBinary(new Uint8Array(5000)); // larger than any packet
      await client.waitFor((m) => m.type === "error" && /5000/.test(m.message as string));
      sendEncoded(client, encoder, 16 * 1000, SIGNAL.length);
      const closed = await closeStream(client, encoder);
      assert.equal(closed.audio_ms, SIGNAL.length / 16);
      assert.deepEqual(texts(client), [
        [0, EXPECTED[0]],
        [1, EXPECTED[1]],
      ]);
    });

    it("PCM16 still needs whole samples (invalid_audio), G.711 takes any byte count", async () => {
      const pcm = await start(url, "pcm_s16le");
      pcm.client.sendBinary(Uint8Array.of(1, 2, 3));
      await pcm.client.waitForError("invalid_audio");
      pcm.client.ws.close();
      const mulaw = await start(url, "mulaw");
      mulaw.client.sendBinary(new Uint8Array(3).fill(0xff));
      await mulaw.client.waitFor((m) => m.type === "ack" && m.received_samples === 6);
      assert.equal(mulaw.client.messages.filter((m) => m.type === "error").length, 0);
      mulaw.client.ws.close();
    });
  });
});
