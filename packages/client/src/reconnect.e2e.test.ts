/**
 * Reconnection against a real earshot server (TestEngine) on 127.0.0.1, port 0: real sockets, no
 * mocks. Connections are cut from the client side (`terminate()` on the transport), in the network
 * (a small TCP proxy the test controls: cut, stall = half-open, refuse), and by restarting the
 * server. The TestEngine names each word by its start time, so a run with drops must give the
 * uninterrupted run's finals exactly: texts, segment_ids, word timings.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { TestEngine } from "@earshot/engines";
import type { TranscriptMessage } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import type { AudioLostEvent, StateChange } from "./client.js";
import type { EarshotClientError } from "./errors.js";
import { EarshotClient, type EarshotClientOptions, nodeTransport } from "./index.js";
import type { Transport, TransportFactory } from "./transport.js";

const KEY = "test-key";
const tone = (ms: number) =>
  Int16Array.from({ length: ms * 16 }, (_, i) => Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));
const silence = (ms: number) => new Int16Array(ms * 16);

/** Six utterances (2 to 7 words), each followed by 600 ms of silence: 9.6 s. */
const SIGNAL = (() => {
  const parts = [1000, 600, 1400, 800, 1200, 400].flatMap((ms) => [tone(ms), silence(600)]);
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
})();
const PIECE_MS = 100;
const PIECES = SIGNAL.length / (PIECE_MS * 16);
/** Fast reconnects for tests; seeded jitter. */
const RECONNECT = { baseDelayMs: 20, maxDelayMs: 200, random: () => 0.5 };

/** A TCP proxy in front of the server: cut (both sides see a drop), stall (half-open), refuse. */
class CuttableProxy {
  readonly #pairs = new Set<net.Socket[]>();
  readonly #server = net.createServer((socket) => this.#accept(socket));
  refuse = false;
  connections = 0;
  constructor(readonly targetPort: number) {}

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  #accept(client: net.Socket): void {
    if (this.refuse) {
      client.destroy();
      return;
    }
    this.connections++;
    const upstream = net.connect(this.targetPort, "127.0.0.1");
    const pair = [client, upstream];
    this.#pairs.add(pair);
    for (const socket of pair) {
      socket.on("error", () => {});
      socket.on("close", () => this.cut(pair));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  cut(pair?: net.Socket[]): void {
    for (const p of pair ? [pair] : [...this.#pairs]) {
      this.#pairs.delete(p);
      for (const socket of p) socket.destroy();
    }
  }

  /** Nothing flows any more, and nobody closes: what a vanished peer looks like. */
  stall(): void {
    const [client, upstream] = [...this.#pairs].at(-1) ?? [];
    client?.unpipe();
    upstream?.unpipe();
    client?.pause();
    upstream?.pause();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

let server: EarshotServer;
let port: number;
before(async () => {
  server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
  ({ port } = await server.listen({ host: "127.0.0.1", port: 0 }));
  await server.ready;
});
after(() => server.close());

interface Run {
  readonly client: EarshotClient;
  readonly finals: TranscriptMessage[];
  readonly states: StateChange[];
  readonly lost: AudioLostEvent[];
  readonly errors: EarshotClientError[];
  /** The transport of the current connection (to terminate it). */
  transport(): Transport | undefined;
}

function start(url: string, options: Partial<EarshotClientOptions> = {}): Run {
  let current: Transport | undefined;
  const transport: TransportFactory = (request, handlers) => {
    current = nodeTransport(request, handlers);
    return current;
  };
  const client = new EarshotClient({ url, apiKey: KEY, transport, reconnect: RECONNECT, ...options });
  const run = { client, finals: [], states: [], lost: [], errors: [], transport: () => current } as Run;
  client.on("final", (m) => run.finals.push(m));
  client.on("state", (s) => run.states.push(s));
  client.on("audio_lost", (l) => run.lost.push(l));
  client.on("error", (e) => run.errors.push(e));
  return run;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends the signal in 100 ms pieces, 10× faster than real time; `at[i]` runs before piece i. */
async function stream(run: Run, from = 0, to = PIECES, at: Record<number, () => unknown> = {}): Promise<void> {
  for (let i = from; i < to; i++) {
    await at[i]?.();
    run.client.send(SIGNAL.subarray(i * PIECE_MS * 16, (i + 1) * PIECE_MS * 16));
    await sleep(PIECE_MS / 10);
  }
}

const summary = (finals: TranscriptMessage[]) =>
  finals.map((f) => ({ id: f.segment_id, text: f.text, startMs: f.start_ms, endMs: f.end_ms, words: f.words }));

let baseline: ReturnType<typeof summary>;

function assertSameTranscript(run: Run): void {
  const ids = run.finals.map((f) => f.segment_id);
  assert.equal(new Set(ids).size, ids.length, `duplicate segment_id in ${ids.join(",")}`);
  assert.deepEqual(summary(run.finals), baseline);
  assert.deepEqual(run.lost, []);
}

const waitFor = (client: EarshotClient, predicate: (s: StateChange) => boolean) =>
  new Promise<StateChange>((resolve) => {
    const off = client.on("state", (s) => {
      if (predicate(s)) {
        off();
        resolve(s);
      }
    });
  });

describe("reconnection against a real server", () => {
  before(async () => {
    const run = start(`http://127.0.0.1:${port}`);
    await run.client.connect();
    await stream(run);
    const result = await run.client.close();
    assert.equal(result.code, 1000);
    baseline = summary(run.finals);
    assert.deepEqual(
      baseline.map((f) => f.words?.length),
      [5, 3, 7, 4, 6, 2],
      "the baseline run",
    );
  });

  test("client-side drops (terminate) mid-speech and mid-silence: same finals, resumed each time", async () => {
    const run = start(`http://127.0.0.1:${port}`);
    await run.client.connect();
    let cutsWhileOpen = 0;
    // A cut while reconnecting fails that attempt (piece 14 may land there): the next one resumes.
    const cut = () => {
      if (run.client.state === "open") cutsWhileOpen++;
      run.transport()?.terminate?.();
    };
    await stream(run, 0, PIECES, { 5: cut, 13: cut, 14: cut, 31: cut, 52: cut, 77: cut, 90: cut });
    const result = await run.client.close();
    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
    assertSameTranscript(run);
    const reopened = run.states.filter((s) => s.from === "reconnecting" && s.to === "open");
    assert.ok(cutsWhileOpen >= 4, `${cutsWhileOpen} cuts while open`);
    assert.equal(reopened.length, cutsWhileOpen);
    assert.ok(reopened.every((s) => s.resumed === true));
    // No connection stayed up for minUptimeMs (5 s), so the backoff kept growing: 0.5 × min(200, 20·2^(n−1)).
    const waits = run.states.filter((s) => s.from === "open" && s.to === "reconnecting");
    assert.deepEqual(
      waits.map((s) => [s.attempt, s.delayMs, s.error?.code]),
      waits.map((_, i) => [i + 1, Math.min(200, 20 * 2 ** i) / 2, "connection_lost"]),
    );
    assert.deepEqual(run.errors, []);
  });

  test("seed mode (hex chunks, 500 ms with 100 ms overlap): drops give the same finals", async () => {
    const run = start(`http://127.0.0.1:${port}`, { mode: "seed" });
    await run.client.connect();
    const cut = () => run.transport()?.terminate?.();
    await stream(run, 0, PIECES, { 7: cut, 33: cut, 64: cut });
    const result = await run.client.close();
    assert.equal(result.code, 1000);
    assertSameTranscript(run);
  });

  test("network cuts (TCP proxy) and a half-open connection caught by the heartbeat", async () => {
    const proxy = new CuttableProxy(port);
    const run = start(await proxy.listen(), { heartbeatTimeoutMs: 1500 });
    await run.client.connect();
    const stalled = async () => {
      proxy.stall();
      await waitFor(run.client, (s) => s.to === "open");
    };
    await stream(run, 0, PIECES, { 8: () => proxy.cut(), 20: () => proxy.cut(), 44: stalled, 61: () => proxy.cut() });
    const result = await run.client.close();
    await proxy.close();
    assert.equal(result.code, 1000);
    assertSameTranscript(run);
    assert.equal(proxy.connections, 5);
    assert.ok(run.states.some((s) => s.error?.message.includes("No message from the server for 1500 ms")));
  });

  test("close() while reconnecting delivers the rest once the server is reachable again", async () => {
    const proxy = new CuttableProxy(port);
    const run = start(await proxy.listen(), { closeTimeoutMs: 5000 });
    await run.client.connect();
    await stream(run, 0, 70);
    proxy.refuse = true;
    proxy.cut();
    await waitFor(run.client, (s) => s.to === "reconnecting");
    await stream(run, 70, PIECES); // captured while disconnected: kept
    const closing = run.client.close();
    await sleep(300);
    assert.equal(run.client.state, "reconnecting");
    proxy.refuse = false;
    const result = await closing;
    await proxy.close();
    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
    assertSameTranscript(run);
    assert.deepEqual(
      run.states.slice(-3).map((s) => s.to),
      ["open", "closing", "closed"],
    );
  });

  test("close() gives up after closeTimeoutMs and says what was lost", async () => {
    const proxy = new CuttableProxy(port);
    const run = start(await proxy.listen(), { closeTimeoutMs: 400 });
    await run.client.connect();
    await stream(run, 0, 40);
    await sleep(200); // the second final (ends at 2200 ms) arrives
    proxy.refuse = true;
    proxy.cut();
    await stream(run, 40, 50);
    const result = await run.client.close();
    await proxy.close();
    assert.equal(result.code, 1006);
    assert.equal(run.errors.at(-1)?.code, "close_timeout");
    const lastEndMs = run.finals.at(-1)?.end_ms ?? 0;
    assert.equal(lastEndMs, baseline[1]?.endMs);
    assert.deepEqual(run.lost, [
      { reason: "ended", lostMs: 5000 - lastEndMs, fromSample: lastEndMs * 16, toSample: 80_000 },
    ]);
    assert.equal(result.lostMs, 5000 - lastEndMs);
    assert.equal(run.states.at(-1)?.to, "closed");
  });

  test("reconnect: false ends the stream at the first drop", async () => {
    const run = start(`http://127.0.0.1:${port}`, { reconnect: false });
    await run.client.connect();
    await stream(run, 0, 10);
    run.transport()?.terminate?.();
    await waitFor(run.client, (s) => s.to === "closed");
    assert.equal(run.errors[0]?.code, "connection_lost");
    assert.ok(!run.states.some((s) => s.to === "reconnecting"));
    assert.throws(() => run.client.send(silence(100)));
  });
});

describe("server restarts", () => {
  test("close 1012, then a new server on the same port: a new session from the last final, nothing lost", async () => {
    const first = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { port: samePort, url } = await first.listen({ host: "127.0.0.1", port: 0 });
    const run = start(url);
    const sessions: string[] = [];
    run.client.on("session", (s) => sessions.push(s.session_id));
    await run.client.connect();
    await stream(run, 0, 48); // three utterances, into the silence after the third
    while (run.finals.length < 3) await sleep(10);
    const reconnecting = waitFor(run.client, (s) => s.to === "reconnecting");
    await first.close();
    assert.equal((await reconnecting).error?.code, "server_shutting_down");
    await stream(run, 48, 60); // captured while no server runs
    const second = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    await second.listen({ host: "127.0.0.1", port: samePort });
    await stream(run, 60, PIECES);
    const result = await run.client.close();
    await second.close();
    assert.equal(result.code, 1000);
    assertSameTranscript(run);
    assert.equal(sessions.length, 2);
    const reopened = run.states.find((s) => s.from === "reconnecting" && s.to === "open");
    assert.equal(reopened?.resumed, false);
    assert.deepEqual(run.errors, []);
  });

  test("a draining server: reconnect at once after 1012 draining, back off on its 503s, go on elsewhere", async () => {
    const first = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { port: samePort, url } = await first.listen({ host: "127.0.0.1", port: 0 });
    const run = start(url);
    const sessions: string[] = [];
    run.client.on("session", (s) => sessions.push(s.session_id));
    await run.client.connect();
    await stream(run, 0, 48); // three utterances, into the silence after the third
    while (run.finals.length < 3) await sleep(10);
    const moved = waitFor(run.client, (s) => s.to === "reconnecting");
    const refused = waitFor(run.client, (s) => s.to === "reconnecting" && s.attempt === 2);
    const drained = first.drain(); // silent: the stream moves at once
    const move = await moved;
    assert.equal(move.error?.code, "draining");
    assert.equal(move.delayMs, 0, "no backoff wait after 1012 draining");
    // The draining server refuses the attempt (503 draining): that one backs off.
    const refusal = await refused;
    assert.equal(refusal.error?.code, "draining");
    assert.ok((refusal.delayMs ?? 0) > 0, "503 draining backs off");
    await drained;
    await first.close();
    await stream(run, 48, 60); // captured while no server runs
    const second = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    await second.listen({ host: "127.0.0.1", port: samePort });
    await stream(run, 60, PIECES);
    const result = await run.client.close();
    await second.close();
    assert.equal(result.code, 1000);
    assertSameTranscript(run);
    assert.equal(sessions.length, 2);
    assert.deepEqual(run.errors, []);
  });

  test("no reconnect after the key is refused (401) on a reconnect", async () => {
    const first = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { port: samePort, url } = await first.listen({ host: "127.0.0.1", port: 0 });
    const run = start(url);
    await run.client.connect();
    await stream(run, 0, 10);
    await first.close();
    const second = createServer({ engine: new TestEngine(), apiKeys: ["another-key"] });
    await second.listen({ host: "127.0.0.1", port: samePort });
    const closed = await waitFor(run.client, (s) => s.to === "closed");
    await second.close();
    assert.equal(closed.error?.code, "unauthorized");
    assert.equal(run.errors.at(-1)?.code, "unauthorized");
  });
});
