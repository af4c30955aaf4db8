/**
 * EarshotClient against a real earshot server (TestEngine) on 127.0.0.1, port 0: real sockets, no
 * mocks. TestEngine: 20 ms frames with RMS > 300 are speech, every 200 ms of speech is a word
 * (alpha, bravo, … counted across the stream), 300 ms of silence ends an utterance.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { concatPcm } from "@earshot/audio";
import { TEST_WORDS, TestEngine } from "@earshot/engines";
import type { TranscriptMessage, UtteranceEndMessage } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import WebSocket from "ws";
import type { AudioLostEvent, StateChange } from "./client.js";
import { EarshotClientError } from "./errors.js";
import { EarshotClient, type EarshotClientOptions } from "./index.js";
import { pcmBytes } from "./pcm-input.js";
import { browserTransport, type WebSocketConstructorLike } from "./transport.js";

const KEY = "test-key";

function tone(ms: number, amplitude = 3000): Int16Array {
  return Int16Array.from({ length: ms * 16 }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 16_000)),
  );
}
const silence = (ms: number) => new Int16Array(ms * 16);

/** 1 s tone (5 words), 500 ms pause (ends the utterance), 0.6 s tone (3 words), 1 s silence. */
const SIGNAL = concatPcm(tone(1000), silence(500), tone(600), silence(1000));
/** The test engine names each word by its start time: TEST_WORDS[floor(startMs / 200) % 26]. */
const EXPECTED_FINALS = [TEST_WORDS.slice(0, 5).join(" "), TEST_WORDS.slice(7, 10).join(" ")];

let server: EarshotServer;
let url: string;

before(async () => {
  server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
  ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
  await server.ready;
});
after(() => server.close());

function record(client: EarshotClient) {
  const states: StateChange[] = [];
  const finals: TranscriptMessage[] = [];
  const partials: TranscriptMessage[] = [];
  const errors: EarshotClientError[] = [];
  client.on("state", (s) => states.push(s));
  client.on("final", (m) => finals.push(m));
  client.on("partial", (m) => partials.push(m));
  client.on("error", (e) => errors.push(e));
  return { states, finals, partials, errors };
}

/** Sends `pcm` in pieces of `pieceMs` (like a capture callback). */
function sendInPieces(client: EarshotClient, pcm: Int16Array, pieceMs: number): void {
  for (let at = 0; at < pcm.length; at += pieceMs * 16) client.send(pcm.subarray(at, at + pieceMs * 16));
}

async function transcribe(options: Partial<EarshotClientOptions>, pieceMs = 20) {
  const client = new EarshotClient({ url, apiKey: KEY, ...options });
  const seen = record(client);
  const session = await client.connect();
  sendInPieces(client, SIGNAL, pieceMs);
  const result = await client.close();
  return { client, session, result, ...seen };
}

function assertNoDuplicateWords(client: EarshotClient): void {
  const words = client.transcript.words.map((w) => w.word);
  assert.equal(new Set(words).size, words.length, `duplicate words in ${words.join(" ")}`);
}

describe("EarshotClient against a real server", () => {
  for (const mode of ["binary", "seed"] as const) {
    test(`${mode} mode: finals, states, aggregated text`, async () => {
      const { client, session, result, states, finals, partials, errors } = await transcribe({ mode });
      assert.equal(session.protocol_version, 1);
      assert.equal(session.config.chunk_overlap_ms, mode === "seed" ? 100 : 0);
      assert.deepEqual(
        finals.map((f) => f.text),
        EXPECTED_FINALS,
      );
      assert.deepEqual(
        finals.map((f) => f.segment_id),
        [0, 1],
      );
      assert.ok(partials.length > 0);
      assert.deepEqual(errors, []);
      assert.deepEqual(
        states.map((s) => `${s.from}→${s.to}`),
        ["idle→connecting", "connecting→open", "open→closing", "closing→closed"],
      );
      assert.equal(client.state, "closed");
      assert.deepEqual(result, { code: 1000, reason: "stream closed", audioMs: 3100, lostMs: 0 });
      assert.equal(client.transcript.text, EXPECTED_FINALS.join(" "));
      assert.equal(client.transcript.finalText, client.transcript.text);
      assert.deepEqual(client.transcript.words.map((w) => [w.word, w.startMs, w.endMs]).slice(0, 2), [
        ["alpha", 0, 200],
        ["bravo", 200, 400],
      ]);
      assertNoDuplicateWords(client);
    });
  }

  test("finals carry speech_final; an utterance_end follows each final that ended at a pause", async () => {
    const client = new EarshotClient({ url, apiKey: KEY });
    const { finals } = record(client);
    const ends: UtteranceEndMessage[] = [];
    client.on("utterance_end", (end) => ends.push(end));
    await client.connect();
    sendInPieces(client, SIGNAL, 20);
    await client.close();
    assert.deepEqual(
      finals.map((f) => [f.segment_id, f.speech_final]),
      [
        [0, true],
        [1, true],
      ],
    );
    assert.deepEqual(
      ends.map((e) => [e.segment_id, e.last_word_end_ms]),
      [
        [0, 1000],
        [1, 2100],
      ],
    );
  });

  test("seed mode for Chinese uses 800 ms chunks without overlap", async () => {
    const { client, session, finals } = await transcribe({ mode: "seed", config: { language: "zh" } }, 100);
    assert.deepEqual(client.chunking, { chunkMs: 800, overlapMs: 0 });
    assert.equal(session.config.language, "zh");
    assert.deepEqual(
      finals.map((f) => f.text),
      EXPECTED_FINALS,
    );
  });

  test("binary mode with overlapping chunks (declared) gives the same transcript", async () => {
    const { finals } = await transcribe({ chunking: { chunkMs: 300, overlapMs: 60 } }, 37);
    assert.deepEqual(
      finals.map((f) => f.text),
      EXPECTED_FINALS,
    );
  });

  test("accepts Float32Array and PCM16LE bytes split at odd offsets", async () => {
    const client = new EarshotClient({ url, apiKey: KEY });
    const { finals } = record(client);
    await client.connect();
    const floats = Float32Array.from(SIGNAL.subarray(0, 16_000), (s) => s / 32768);
    client.send(floats);
    const bytes = new Uint8Array(pcmBytes(SIGNAL.subarray(16_000)));
    for (let at = 0; at < bytes.length; at += 1001) client.send(bytes.subarray(at, at + 1001));
    await client.close();
    assert.deepEqual(
      finals.map((f) => f.text),
      EXPECTED_FINALS,
    );
  });

  test("finalize() ends the utterance without waiting for a pause", async () => {
    const client = new EarshotClient({ url, apiKey: KEY });
    await client.connect();
    const final = new Promise<TranscriptMessage>((resolve) => client.once("final", resolve));
    client.send(tone(430)); // 2 whole words and a part-word, the last 30 ms in the chunker
    client.finalize();
    assert.equal((await final).text, "alpha bravo charlie");
    await client.close();
  });

  test("close() is idempotent: the same promise, also after closing; asyncDispose closes", async () => {
    const client = new EarshotClient({ url, apiKey: KEY });
    await client.connect();
    client.send(tone(300));
    const first = client.close();
    assert.equal(client.close(), first);
    const result = await first;
    assert.equal(client.close(), first);
    assert.equal(result.code, 1000);
    assert.throws(
      () => client.send(tone(20)),
      (e: unknown) => e instanceof EarshotClientError && e.code === "invalid_state",
    );

    const disposed = new EarshotClient({ url, apiKey: KEY });
    await disposed.connect();
    await disposed[Symbol.asyncDispose]();
    assert.equal(disposed.state, "closed");
  });

  test("close() before connect() goes straight to closed", async () => {
    const client = new EarshotClient({ url, apiKey: KEY });
    const { states } = record(client);
    await client.close();
    assert.deepEqual(states, [{ from: "idle", to: "closed", reason: "closed before connect" }]);
    await assert.rejects(
      client.connect(),
      (e: unknown) => e instanceof EarshotClientError && e.code === "invalid_state",
    );
  });

  test("close() while connecting rejects connect() and closes", async () => {
    const client = new EarshotClient({ url, apiKey: KEY });
    const connecting = client.connect();
    const closed = client.close();
    await assert.rejects(connecting, (e: unknown) => e instanceof EarshotClientError && e.code === "connection_failed");
    await closed;
    assert.equal(client.state, "closed");
  });

  test("a wrong API key rejects connect() with `unauthorized` (HTTP 401)", async () => {
    const client = new EarshotClient({ url, apiKey: "wrong" });
    const { states } = record(client);
    await assert.rejects(client.connect(), (e: unknown) => {
      assert.ok(e instanceof EarshotClientError);
      assert.equal(e.code, "unauthorized");
      assert.equal(e.status, 401);
      assert.equal(e.retryable, false);
      return true;
    });
    assert.deepEqual(
      states.map((s) => s.to),
      ["connecting", "closed"],
    );
    assert.equal((await client.close()).code, 1006);
  });

  test("a refused config rejects connect() with the server's code", async () => {
    const client = new EarshotClient({ url, apiKey: KEY, config: { language: "xx" } });
    await assert.rejects(
      client.connect(),
      (e: unknown) => e instanceof EarshotClientError && e.code === "unsupported_language",
    );
    assert.equal(client.state, "closed");
  });

  test("nothing listening: connect() rejects with connection_failed", async () => {
    const dead = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url: deadUrl } = await dead.listen({ host: "127.0.0.1", port: 0 });
    await dead.close();
    const client = new EarshotClient({ url: deadUrl, apiKey: KEY });
    await assert.rejects(
      client.connect(),
      (e: unknown) => e instanceof EarshotClientError && e.code === "connection_failed",
    );
  });

  test("a server-side failure after start is an error event, then closed (reconnect off)", async () => {
    // With reconnect on, engine_unavailable (retryable) would be retried: see reconnect.e2e.test.ts.
    const client = new EarshotClient({ url, apiKey: KEY, config: { model: "test-crash" }, reconnect: false });
    const { errors, states } = record(client);
    await client.connect();
    sendInPieces(client, concatPcm(tone(1200), silence(200)), 100);
    await new Promise<void>((resolve) => client.on("state", (s) => s.to === "closed" && resolve()));
    assert.equal(errors[0]?.code, "engine_unavailable");
    assert.equal(errors.length, 1);
    assert.equal(states.at(-1)?.from, "open");
  });

  describe("backpressure", () => {
    test("a backed-up socket queues audio and drains it in order", async () => {
      // Server and client share this event loop, so while we send synchronously nobody reads: once
      // the kernel's loopback buffers are full (a few MB), `bufferedAmount` grows for real.
      // The buffer must hold what is sent before the loopback backs up (acks cannot arrive meanwhile).
      const client = new EarshotClient({ url, apiKey: KEY, maxBufferedBytes: 64 * 1024, maxBufferedAudioMs: 600_000 });
      const { finals, errors } = record(client);
      let drains = 0;
      let warnings = 0;
      client.on("drain", () => drains++);
      client.on("warning", () => warnings++);
      await client.connect();
      let repetitions = 0;
      let backpressured = false;
      while (!backpressured && repetitions < 600) {
        backpressured = !client.send(SIGNAL);
        repetitions++;
      }
      assert.ok(backpressured, `no backpressure after ${repetitions} × 3.1 s`);
      assert.ok(client.queuedMs > 0);
      for (let i = 0; i < 5; i++) client.send(SIGNAL); // more behind the queue, in order
      repetitions += 5;
      await client.close();
      assert.equal(warnings, 0);
      assert.deepEqual(errors, []);
      assert.ok(drains >= 1);
      assert.equal(finals.length, 2 * repetitions);
      // every word is named by its start time: check names, order and increasing times
      const words = client.transcript.words;
      assert.equal(words.length, 8 * repetitions);
      words.forEach((w, i) => {
        assert.equal(w.word, TEST_WORDS[Math.floor(w.startMs / 200) % TEST_WORDS.length]);
        if (i > 0) assert.ok(w.startMs >= (words[i - 1]?.endMs ?? 0));
      });
    });

    test("close() waits as long as the server makes progress, longer than closeTimeoutMs in all", async () => {
      // test-slow decodes at 4× real time: 12.8 s of tone bursts sent at once take about 3.2 s to
      // drain, with a final every 800 ms of audio (200 ms of decoding); each final starts the 700 ms
      // wait again, which leaves room for a busy machine between two finals.
      const client = new EarshotClient({ url, apiKey: KEY, config: { model: "test-slow" }, closeTimeoutMs: 700 });
      const { finals, errors } = record(client);
      await client.connect();
      for (let i = 0; i < 16; i++) client.send(concatPcm(tone(300), silence(500)));
      const started = performance.now();
      const result = await client.close();
      assert.equal(result.code, 1000, JSON.stringify(errors));
      assert.ok(performance.now() - started > 1_400, "the drain outlasted closeTimeoutMs twice over");
      assert.equal(finals.length, 16);
      assert.equal(result.lostMs, 0);
    });

    test("when the buffer is full the oldest audio goes, reported exactly; close() times out", async () => {
      // A socket that never reports room (maxBufferedBytes −1) stands in for a stalled network.
      const client = new EarshotClient({
        url,
        apiKey: KEY,
        maxBufferedBytes: -1,
        maxBufferedAudioMs: 1000,
        closeTimeoutMs: 200,
      });
      const lost: AudioLostEvent[] = [];
      const { errors } = record(client);
      client.on("audio_lost", (loss) => lost.push(loss));
      await client.connect();
      for (let i = 0; i < 30; i++) assert.equal(client.send(tone(100)), false);
      assert.equal(client.bufferedMs, 1000);
      assert.equal(client.queuedMs, 3000, "positions evicted unsent still count: they go out as silence");
      assert.deepEqual(lost[0], { lostMs: 100, fromSample: 0, toSample: 1600, reason: "overflow" });
      assert.equal(lost.length, 20);
      const result = await client.close();
      assert.equal(result.code, 1006);
      assert.equal(errors.at(-1)?.code, "close_timeout");
      assert.deepEqual(lost.at(-1), { lostMs: 1000, fromSample: 32_000, toSample: 48_000, reason: "ended" });
      assert.equal(result.lostMs, 3000);
    });
  });

  describe("browser transport (WHATWG WebSocket API; here the `ws` class) ", () => {
    const WhatwgWebSocket = WebSocket as unknown as WebSocketConstructorLike;

    test("authenticates with the token subprotocol and streams", async () => {
      const { finals, session } = await transcribe({ transport: browserTransport(WhatwgWebSocket) });
      assert.ok(session.session_id);
      assert.deepEqual(
        finals.map((f) => f.text),
        EXPECTED_FINALS,
      );
    });

    test("a wrong key fails the handshake: connection_failed (browsers hide the status)", async () => {
      const client = new EarshotClient({ url, apiKey: "wrong", transport: browserTransport(WhatwgWebSocket) });
      await assert.rejects(
        client.connect(),
        (e: unknown) => e instanceof EarshotClientError && e.code === "connection_failed",
      );
      assert.equal(client.state, "closed");
    });
  });
});
