/**
 * Issue 13, "unbounded send buffer": what the server sends a client is bounded, and a client that
 * does not read is dropped, whether or not the engine is behind. Each case failed before the fix:
 * an endless utterance to a client that never read grew the server by hundreds of MB in seconds;
 * a fast sender that never read kept the server paused (engine behind) and was never dropped; and
 * no client was ever closed for reading too slowly.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { browserTransport, EarshotClient, type StateChange, type WebSocketConstructorLike } from "@earshot/client";
import { TEST_WORDS, TestEngine } from "@earshot/engines";
import type { TranscriptMessage } from "@earshot/protocol";
import { createServer } from "@earshot/server";
import WebSocket from "ws";
import { waitUntil } from "../helpers/http-probe.js";
import { type Samples, sample, scrape } from "../helpers/prometheus.js";
import { killAllServers, serveTestEngine } from "../helpers/serve-process.js";
import { bursts, toBytes } from "../helpers/signals.js";

const KEY = "outbound-key";
/** One second of tone: speech, word after word, for the test engine. */
const TONE_SECOND = toBytes(bursts([{ toneMs: 1000, silenceMs: 0 }]));

/** A client that starts a stream, then never reads again and sends tone as fast as its socket takes it. */
class NonReader {
  readonly ws: WebSocket;
  #stopped = false;
  secondsSent = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("error", () => {});
  }

  static async open(baseUrl: string, model: string): Promise<NonReader> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/v1/audio/transcriptions/stream`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    ws.send(JSON.stringify({ type: "config", config: { model, language: "en", timestamp_granularity: "word" } }));
    await new Promise<void>((resolve) =>
      ws.once("message", () => {
        ws.pause(); // session_started was the last thing it reads
        resolve();
      }),
    );
    return new NonReader(ws);
  }

  /** Sends until `stop()`, keeping its own unsent bytes under 256 KiB (the test process stays small). */
  async flood(): Promise<void> {
    while (!this.#stopped && this.ws.readyState === WebSocket.OPEN) {
      if (this.ws.bufferedAmount < 256 * 1024) {
        this.ws.send(TONE_SECOND);
        this.secondsSent += 1;
        if (this.secondsSent % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
      } else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  stop(): void {
    this.#stopped = true;
    this.ws.terminate();
  }
}

/** How the server let the connection go: dropped by the liveness checks, or closed with slow_consumer. */
function letGo(samples: Samples): number {
  return (
    sample(samples, 'earshot_peers_dropped_total{reason="not_reading"}') +
    sample(samples, 'earshot_peers_dropped_total{reason="no_pong"}') +
    sample(samples, 'earshot_errors_total{code="slow_consumer"}')
  );
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

describe("bounded outbound (issue 13)", () => {
  after(() => killAllServers());

  it("an endless utterance to a client that never reads: server memory stays bounded, the client is dropped", async () => {
    // `earshot serve` with its defaults, in its own process so its RSS is the server's alone.
    const served = await serveTestEngine(0, KEY);
    const pid = served.process.pid ?? 0;
    const baselineMb = rssMb(pid);
    /** Before the fix the server grew ~150 MB/s here; past this it is stopped, the test failed. */
    const ceilingMb = baselineMb + 200;
    let peakMb = baselineMb;
    const client = await NonReader.open(served.url, "test");
    const startedAt = Date.now();
    const flooding = client.flood();
    try {
      let connections = 1;
      while (connections > 0 && peakMb < ceilingMb && Date.now() - startedAt < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        peakMb = Math.max(peakMb, rssMb(pid));
        connections = sample(await scrape(served.url), "earshot_websocket_connections");
      }
      const droppedAfterMs = Date.now() - startedAt;
      assert.ok(peakMb < ceilingMb, `server RSS went from ${baselineMb.toFixed(0)} to ${peakMb.toFixed(0)} MB`);
      assert.equal(connections, 0, `still connected after ${droppedAfterMs} ms`);
      // Liveness: 5 s without pong or without our bytes taken, checked every 2 s.
      assert.ok(droppedAfterMs < 12_000, `dropped after ${droppedAfterMs} ms`);
      assert.ok(letGo(await scrape(served.url)) >= 1);
      assert.ok(client.secondsSent > 300, `the flood was real: ${client.secondsSent} s of audio`);
    } finally {
      client.stop();
      await flooding;
      served.process.kill("SIGKILL");
    }
  });

  it("a fast sender that never reads, while the engine is behind (reading paused), is dropped", async () => {
    // test-slow at 20× real time: far behind this sender, so the server stops reading it most of
    // the time; decoding fast enough to produce partials the socket would have to take.
    const engine = new TestEngine({ slowSpeed: 20 });
    const server = createServer({ engine, apiKeys: [KEY] });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const client = await NonReader.open(url, "test-slow");
    const startedAt = Date.now();
    const flooding = client.flood();
    try {
      await waitUntil(
        async () => sample(await scrape(url), "earshot_websocket_connections") === 0,
        "the server dropped the client",
        25_000,
      );
      const droppedAfterMs = Date.now() - startedAt;
      assert.ok(engine.peakBacklogMs > 10_000, `the engine fell behind (${engine.peakBacklogMs} ms): reading paused`);
      const samples = await scrape(url);
      assert.equal(sample(samples, 'earshot_peers_dropped_total{reason="not_reading"}'), 1);
      assert.ok(droppedAfterMs < 25_000, `dropped after ${droppedAfterMs} ms`);
      // Its session waits for a resume, as after any drop.
      assert.equal(sample(samples, "earshot_sessions_waiting_for_resume"), 1);
    } finally {
      client.stop();
      await flooding;
      await server.close();
    }
  });

  it("a client that reads too slowly is closed with slow_consumer; the SDK resumes and gets every final once", async () => {
    const server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      maxOutboundBytes: 64 * 1024,
      // The client below stops reading for a few seconds: not long enough to be dropped as dead.
      livenessTimeoutMs: 10_000,
    });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const client = new EarshotClient({
      url,
      apiKey: KEY,
      transport: browserTransport(StallableSocket as unknown as WebSocketConstructorLike),
      config: { model: "test" },
      maxBufferedAudioMs: 900_000,
      heartbeatTimeoutMs: 10_000,
      closeTimeoutMs: 5000,
    });
    const states: StateChange[] = [];
    const finals: TranscriptMessage[] = [];
    client.on("state", (s) => states.push(s));
    client.on("final", (m) => finals.push(m));
    try {
      await client.connect();
      StallableSocket.stallAll();
      // Continuous tone: partials (up to 150 words at the 30 s utterance limit) fill the socket
      // buffers, then finals and acks wait in the server until there are more than 64 KiB of them.
      let seconds = 0;
      const sendSecond = () => {
        seconds += 1;
        return client.send(new Int16Array(TONE_SECOND.buffer, TONE_SECOND.byteOffset, TONE_SECOND.byteLength / 2));
      };
      const slowConsumerClosed = async () =>
        ((await scrape(url)).get('earshot_errors_total{code="slow_consumer"}') ?? 0) > 0;
      const deadline = Date.now() + 15_000;
      while (!(await slowConsumerClosed())) {
        assert.ok(Date.now() < deadline, `no slow_consumer after ${seconds} s of audio`);
        for (let i = 0; i < 10; i++) {
          if (sendSecond()) continue;
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
            client.once("drain", () => resolve(clearTimeout(timer)));
          });
        }
      }
      StallableSocket.resumeAll();
      for (let i = 0; i < 20; i++) sendSecond();
      const result = await client.close();
      assert.equal(result.code, 1000);

      const reconnect = states.find((s) => s.to === "reconnecting");
      assert.equal(reconnect?.error?.code, "slow_consumer");
      assert.ok(
        states.some((s) => s.to === "open" && s.resumed === true),
        "the session was resumed",
      );
      // Every final exactly once, in order; its words cover the whole stream without a gap.
      assert.deepEqual(
        finals.map((f) => f.segment_id),
        finals.map((_, i) => i),
      );
      const words = finals.flatMap((f) => f.words ?? []);
      assert.equal(words[0]?.start_ms, 0);
      assert.equal(words.at(-1)?.end_ms, seconds * 1000);
      words.forEach((w, i) => {
        if (i > 0) assert.equal(w.start_ms, words[i - 1]?.end_ms, `word ${i} follows the one before`);
        assert.equal(w.word, TEST_WORDS[Math.floor(w.start_ms / 200) % TEST_WORDS.length]);
      });
      assert.ok(
        finals.every((f) => f.end_ms - f.start_ms <= 32_000),
        "utterances are cut at about 30 s",
      );
    } finally {
      StallableSocket.resumeAll();
      if (client.state !== "closed") await client.close();
      await server.close();
    }
  });
});

/** A `ws` socket (as the browser transport's WebSocket) whose reading the test can stop and start. */
class StallableSocket extends WebSocket {
  static readonly #open = new Set<StallableSocket>();
  static #stalled = false;

  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    StallableSocket.#open.add(this);
    this.once("open", () => {
      if (StallableSocket.#stalled) this.pause();
    });
    this.once("close", () => StallableSocket.#open.delete(this));
  }

  /** Every socket stops reading (a client busy elsewhere, or behind a stalled link). */
  static stallAll(): void {
    StallableSocket.#stalled = true;
    for (const socket of StallableSocket.#open) socket.pause();
  }

  static resumeAll(): void {
    StallableSocket.#stalled = false;
    for (const socket of StallableSocket.#open) socket.resume();
  }
}
