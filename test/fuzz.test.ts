/**
 * Issue 4's proof against bad input: 10,000+ malformed or hostile inputs (see
 * helpers/hostile-inputs.ts), seeded, over hundreds of connections to a real server in this
 * process: messages of every wrong shape, valid messages in the wrong order, floods of tiny frames,
 * oversized frames, raw TCP garbage, broken HTTP upgrades and broken WebSocket framing, and slow
 * senders that dribble bytes or hold idle sockets. Meanwhile a healthy SDK stream runs alongside.
 * The server must never crash (an exception in a handler would fail this test), answer only with
 * well-formed messages and documented error codes, keep this process's memory bounded, and give
 * the healthy stream exactly the transcript of a run without the fuzz.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { ERRORS } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import { between, mulberry32, pick, type Random } from "@earshot/test-support";
import WebSocket from "ws";
import { hostileMessage, oversizedFrame } from "./helpers/hostile-inputs.js";
import { dribble, rawExchange, STREAM_PATH, upgradeRequest, wsFrame } from "./helpers/raw-peer.js";
import { assertExactlyOnce, type SdkRun, sendPaced, startRun, summary } from "./helpers/sdk-run.js";
import { killAllServers, serveTestEngine } from "./helpers/serve-process.js";
import { bursts } from "./helpers/signals.js";

const FUZZ_KEY = "fuzz-key";
const HEALTHY_KEY = "healthy-key";
const SEED = 0xf0_22_20_26;
const CONNECTIONS = 480;
const WORKERS = 8;
const SLOW_PEERS = 16;
const MIN_INPUTS = 10_000;
/** Eight utterances with pauses, 10.6 s, streamed in real time beside the fuzz. */
const SIGNAL = bursts(
  [800, 1200, 400, 1000, 600, 1400, 200, 900].map((toneMs, i) => ({ toneMs, silenceMs: 500 + (i % 2) * 300 })),
);
const SERVER_TYPES = new Set([
  "session_started",
  "session_resumed",
  "transcript",
  "ack",
  "error",
  "warning",
  "utterance_end",
  "stream_closed",
]);

class Tally {
  inputs = 0;
  readonly kinds = new Map<string, number>();
  readonly closeCodes = new Map<number, number>();
  /** Anything the server said that is not a well-formed message with a documented code. */
  readonly violations: string[] = [];

  count(kind: string, n = 1): void {
    this.inputs += n;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + n);
  }

  check(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.violations.push("a binary message from the server");
      return;
    }
    let message: { type?: unknown; code?: unknown };
    try {
      message = JSON.parse(String(data)) as typeof message;
    } catch {
      this.violations.push(`not JSON: ${String(data).slice(0, 80)}`);
      return;
    }
    if (typeof message.type !== "string" || !SERVER_TYPES.has(message.type)) {
      this.violations.push(`unknown type ${String(message.type)}`);
    } else if (message.type === "error" && !Object.hasOwn(ERRORS, String(message.code))) {
      this.violations.push(`undocumented error code ${String(message.code)}`);
    } else if (message.type === "error" && message.code === "internal_error") {
      // The server's catch-all for its own bugs: hostile input must never reach it.
      this.violations.push("internal_error: a message handler threw");
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A `ws` connection with the fuzz key whose every server message is checked; undefined if refused. */
async function open(url: string, tally: Tally): Promise<WebSocket | undefined> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}${STREAM_PATH}`, {
    headers: { Authorization: `Bearer ${FUZZ_KEY}` },
  });
  ws.on("message", (data, isBinary) => tally.check(data, isBinary));
  ws.on("error", () => {});
  ws.on("close", (code) => tally.closeCodes.set(code, (tally.closeCodes.get(code) ?? 0) + 1));
  await Promise.race([once(ws, "open"), once(ws, "close"), once(ws, "unexpected-response")]);
  if (ws.readyState === WebSocket.OPEN) return ws;
  ws.terminate();
  return undefined;
}

/** Sends if the socket is still open (the server closes some connections on purpose); true if sent. */
function send(ws: WebSocket, data: string | Buffer, tally: Tally, kind: string): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  ws.send(data, { binary: typeof data !== "string" });
  tally.count(kind);
  return true;
}

/** Ends a connection one of three ways; waits (bounded) until it is closed. */
async function hangUp(ws: WebSocket, random: Random): Promise<void> {
  const how = random();
  if (how < 0.2) ws.terminate();
  else if (how < 0.35 && ws.readyState === WebSocket.OPEN) ws.send('{"type":"close_stream"}');
  else ws.close(1000);
  if (ws.readyState === WebSocket.CLOSED) return;
  const timer = setTimeout(() => ws.terminate(), 3000);
  await once(ws, "close");
  clearTimeout(timer);
}

const CONFIG = JSON.stringify({ type: "config", config: { language: "en", timestamp_granularity: "word" } });
const ALL_AT_ONCE = Number.POSITIVE_INFINITY;

/** Hostile messages, with or without a valid config first; rarely an oversized frame. */
async function hostileMessages(url: string, random: Random, tally: Tally): Promise<void> {
  const ws = await open(url, tally);
  if (!ws) return;
  if (random() < 0.5) send(ws, CONFIG, tally, "config");
  const count = between(random, 10, 45);
  for (let i = 0; i < count; i++) {
    const message = random() < 0.003 ? oversizedFrame(random) : hostileMessage(random);
    if (!send(ws, message.data, tally, message.kind)) break;
    if (i % 8 === 7) await sleep(0);
  }
  await hangUp(ws, random);
}

/** Valid messages in a wrong order. */
async function wrongOrder(url: string, random: Random, tally: Tally): Promise<void> {
  const ws = await open(url, tally);
  if (!ws) return;
  const audio = Buffer.alloc(3200, 0);
  const sequences: (string | Buffer)[][] = [
    [audio, CONFIG, CONFIG, '{"type":"resume","resume_token":"rt_AAAAAAAAAAAAAAAAAAAAAAAA","last_segment_id":-1}'],
    ['{"type":"finalize"}', '{"type":"close_stream"}', audio],
    ['{"type":"resume","resume_token":"rt_BBBBBBBBBBBBBBBBBBBBBBBB","last_segment_id":3}', CONFIG, audio, audio],
    [CONFIG, audio, '{"type":"close_stream"}', audio, '{"type":"finalize"}', CONFIG],
    [JSON.stringify({ type: "config", config: { language: "en", model: "test-crash" } }), ...Array(14).fill(audio)],
    [CONFIG, '{"type":"audio_chunk","audio":"0000"}', audio, '{"type":"finalize"}', '{"type":"finalize"}'],
  ];
  for (const data of pick(random, sequences)) {
    if (!send(ws, data, tally, "wrong_order")) break;
  }
  await sleep(between(random, 0, 30));
  await hangUp(ws, random);
}

/** Hundreds of tiny frames as fast as possible. */
async function flood(url: string, random: Random, tally: Tally): Promise<void> {
  const ws = await open(url, tally);
  if (!ws) return;
  send(ws, CONFIG, tally, "config");
  const count = between(random, 200, 700);
  const tiny = [Buffer.alloc(2, 9), Buffer.alloc(1), Buffer.alloc(0), '{"type":"keepalive"}', '{"type":"finalize"}'];
  for (let i = 0; i < count; i++) {
    if (!send(ws, pick(random, tiny), tally, "flood")) break;
    if (i % 64 === 63) await sleep(0);
  }
  await hangUp(ws, random);
}

/** Below the WebSocket library: garbage, broken upgrades, broken framing. */
async function raw(port: number, random: Random, tally: Tally): Promise<void> {
  const upgrade = () => upgradeRequest(STREAM_PATH, FUZZ_KEY);
  const text = (s: string) => Buffer.from(s);
  const cases: (() => Buffer[])[] = [
    () => [Buffer.from(Array.from({ length: between(random, 1, 4096) }, () => between(random, 0, 255)))],
    () => [text("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")],
    () => [text(`GET /${"a".repeat(between(random, 1, 20_000))} HTTP/1.1\r\nHost: x\r\n\r\n`)],
    () => [text(`GET / HTTP/1.1\r\n${"X-Junk: y\r\n".repeat(between(random, 1, 3000))}\r\n`)],
    () => [upgradeRequest(STREAM_PATH, undefined)],
    () => [upgradeRequest(STREAM_PATH, "wrong-key")],
    () => [upgradeRequest("/elsewhere", FUZZ_KEY)],
    () => [text(`GET ${STREAM_PATH} HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`)],
    () => [upgrade(), wsFrame({ opcode: 1, payload: text(CONFIG), mask: false })],
    () => [upgrade(), wsFrame({ opcode: 3, payload: text("x") })],
    () => [upgrade(), wsFrame({ opcode: 1, payload: text(CONFIG), rsv: 4 })],
    () => [upgrade(), wsFrame({ opcode: 9, payload: Buffer.alloc(200) })],
    () => [upgrade(), wsFrame({ opcode: 9, payload: text("p"), fin: false })],
    () => [upgrade(), wsFrame({ opcode: 0, payload: text("continuation first") })],
    () => [upgrade(), wsFrame({ opcode: 1, payload: Buffer.from([0xff, 0xfe, 0xc3, 0x28]) })],
    () => [upgrade(), wsFrame({ opcode: 2, declaredLength: 2n ** 63n - 1n })],
    () => [upgrade(), wsFrame({ opcode: 2, declaredLength: 3_000_000n, payload: Buffer.alloc(1000) })],
    () => [upgrade(), Buffer.from([0x82])],
    () => [upgrade(), wsFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe7]) })],
    () => [upgrade(), wsFrame({ opcode: 8, payload: Buffer.from([0x03]) })],
    () => [
      upgrade(),
      wsFrame({ opcode: 1, payload: text(CONFIG), fin: false }),
      wsFrame({ opcode: 1, payload: text("x") }),
    ],
  ];
  const chunks = pick(random, cases)();
  tally.count("raw", chunks.length);
  await rawExchange(port, chunks, { lingerMs: between(random, 20, 150) });
}

/** Slow senders: dribbled upgrades and frames, trickled audio, sockets that say nothing. */
async function slow(url: string, port: number, random: Random, tally: Tally): Promise<void> {
  const kind = between(random, 0, 3);
  if (kind === 0) {
    const bytes = Buffer.concat([
      upgradeRequest(STREAM_PATH, FUZZ_KEY),
      wsFrame({ opcode: 1, payload: Buffer.from(CONFIG) }),
    ]);
    tally.count("slow_dribble");
    await rawExchange(port, dribble(bytes, 8), { gapMs: 25, lingerMs: 100 });
  } else if (kind === 1) {
    const frame = wsFrame({ opcode: 2, payload: Buffer.alloc(2000, 3) });
    tally.count("slow_frame");
    await rawExchange(port, [upgradeRequest(STREAM_PATH, FUZZ_KEY), ...dribble(frame, 40)], { gapMs: 40 });
  } else if (kind === 2) {
    tally.count("idle_socket");
    await rawExchange(port, [], { lingerMs: between(random, 1000, 4000) });
  } else {
    const ws = await open(url, tally);
    if (!ws) return;
    send(ws, CONFIG, tally, "config");
    for (let i = 0; i < 25; i++) {
      if (!send(ws, Buffer.alloc(320, i % 2 ? 0 : 40), tally, "slow_audio")) break;
      await sleep(120);
    }
    await hangUp(ws, random);
  }
}

interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
}

const MB = 1024 * 1024;

describe("fuzz", () => {
  let server: EarshotServer;
  let url: string;
  let port: number;
  /** Exceptions that escaped the server's handlers: each one would kill `earshot serve`. */
  const crashes: Error[] = [];
  const onCrash = (error: Error) => crashes.push(error);

  before(() => process.on("uncaughtExceptionMonitor", onCrash));
  after(async () => {
    process.off("uncaughtExceptionMonitor", onCrash);
    await server?.close();
  });

  const healthy = () =>
    startRun({
      url,
      apiKey: HEALTHY_KEY,
      config: { language: "en", timestamp_granularity: "word" },
      reconnect: { baseDelayMs: 20, maxDelayMs: 200, random: mulberry32(SEED) },
    });

  async function stream(run: SdkRun, speed: number): Promise<void> {
    await run.client.connect();
    await sendPaced(run, SIGNAL, { speed });
    const result = await run.client.close();
    assert.equal(result.code, 1000);
    assert.equal(result.lostMs, 0);
  }

  it(`${MIN_INPUTS}+ hostile inputs: no crash, bounded memory, a healthy stream alongside is exact`, {
    timeout: 90_000,
  }, async (t) => {
    // Built here, not in a hook, so whatever escapes its handlers fails this test.
    server = createServer({ engine: new TestEngine(), apiKeys: [FUZZ_KEY, HEALTHY_KEY] });
    ({ url, port } = await server.listen({ host: "127.0.0.1", port: 0 }));
    await server.ready;
    const reference = healthy();
    await stream(reference, ALL_AT_ONCE);
    assert.equal(reference.finals.length, 8);

    const samples: MemorySample[] = [];
    const sample = () => {
      const { rss, heapUsed } = process.memoryUsage();
      samples.push({ rss, heapUsed });
    };
    sample();
    const sampler = setInterval(sample, 100);
    const startedAt = Date.now();

    const random = mulberry32(SEED);
    const tally = new Tally();
    const plan = Array.from({ length: CONNECTIONS }, () => random());
    const seeds = plan.map(() => (random() * 2 ** 32) >>> 0);
    let next = 0;
    const worker = async () => {
      while (next < CONNECTIONS) {
        const i = next++;
        const roll = plan[i] ?? 0;
        const own = mulberry32(seeds[i] ?? 0);
        if (roll < 0.55) await hostileMessages(url, own, tally);
        else if (roll < 0.7) await wrongOrder(url, own, tally);
        else if (roll < 0.9) await raw(port, own, tally);
        else await flood(url, own, tally);
      }
    };
    const slowPeers = Array.from({ length: SLOW_PEERS }, (_, i) =>
      sleep(i * 400).then(() => slow(url, port, mulberry32(SEED + i), tally)),
    );
    const run = healthy();
    await Promise.all([stream(run, 1), ...Array.from({ length: WORKERS }, worker), ...slowPeers]);
    const fuzzMs = Date.now() - startedAt;
    clearInterval(sampler);
    sample();

    const [first] = samples;
    assert.ok(first);
    const peakRss = Math.max(...samples.map((s) => s.rss));
    const peakHeap = Math.max(...samples.map((s) => s.heapUsed));
    t.diagnostic(
      `${tally.inputs} inputs over ${CONNECTIONS + SLOW_PEERS} connections in ${fuzzMs} ms; ` +
        `rss ${(first.rss / MB).toFixed(0)} → peak ${(peakRss / MB).toFixed(0)} MB, ` +
        `heap ${(first.heapUsed / MB).toFixed(0)} → peak ${(peakHeap / MB).toFixed(0)} MB; ` +
        `${server.sessionCount} sessions left waiting for a resume`,
    );
    t.diagnostic(`inputs by kind: ${JSON.stringify(Object.fromEntries(tally.kinds))}`);
    t.diagnostic(`close codes seen: ${JSON.stringify(Object.fromEntries(tally.closeCodes))}`);

    assert.deepEqual([...new Set(crashes.map((e) => `${e.name}: ${e.message}`))], [], "exceptions escaped the server");
    assert.ok(tally.inputs >= MIN_INPUTS, `only ${tally.inputs} inputs`);
    assert.deepEqual(tally.violations.slice(0, 10), [], "malformed answers from the server");
    // Bounded: the fuzz moves hundreds of MB through the server; what stays resident must not.
    assert.ok(peakHeap - first.heapUsed < 300 * MB, `heap grew by ${((peakHeap - first.heapUsed) / MB).toFixed(0)} MB`);
    assert.ok(peakRss - first.rss < 600 * MB, `rss grew by ${((peakRss - first.rss) / MB).toFixed(0)} MB`);

    // The healthy stream got exactly the reference transcript, through all of it.
    assertExactlyOnce(run);
    assert.deepEqual(summary(run.finals), summary(reference.finals));
    assert.deepEqual(
      run.errors.map((e) => e.code),
      [],
    );

    // And the server still serves.
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const after = healthy();
    await stream(after, ALL_AT_ONCE);
    assert.deepEqual(summary(after.finals), summary(reference.finals));
  });
});

describe("hostile input that crashes the server process", () => {
  after(killAllServers);

  it("a message whose `type` is nested 100,000 deep gets an error, and the server lives", {
    timeout: 30_000,
  }, async () => {
    const served = await serveTestEngine(0, FUZZ_KEY);
    const tally = new Tally();
    const ws = await open(served.url, tally);
    assert.ok(ws);
    const depth = 100_000;
    ws.send(`{"type":${"[".repeat(depth)}0${"]".repeat(depth)}}`);
    await Promise.race([once(ws, "message"), once(ws, "close")]);
    await sleep(300);
    assert.equal(served.process.exitCode, null, "the server process exited");
    assert.equal(served.process.signalCode, null, "the server process was killed");
    assert.equal((await fetch(`${served.url}/healthz`)).status, 200);
    ws.close();
    served.process.kill("SIGKILL");
  });

  it("a binary frame that lands at an odd offset of the socket's read buffer is decoded, and the server lives", {
    timeout: 30_000,
  }, async () => {
    const served = await serveTestEngine(0, FUZZ_KEY);
    // finalize (a 19-byte text frame: 25 bytes on the wire) and 100 ms of audio (3208 bytes), twice,
    // in one TCP write: whatever the chunk's own offset, one of the two audio payloads starts at an
    // odd byte offset of the buffer ws reads into. An SDK calling finalize() then send() does this.
    const finalize = wsFrame({ opcode: 1, payload: Buffer.from('{"type":"finalize"}') });
    const audio = wsFrame({ opcode: 2, payload: Buffer.alloc(3200) });
    const opening = Buffer.concat([
      upgradeRequest(STREAM_PATH, FUZZ_KEY),
      wsFrame({ opcode: 1, payload: Buffer.from(CONFIG) }),
    ]);
    const { received } = await rawExchange(served.port, [opening, Buffer.concat([finalize, audio, finalize, audio])], {
      gapMs: 300,
      lingerMs: 500,
    });
    assert.match(received.toString("latin1"), /session_started/);
    assert.equal(served.process.exitCode, null, "the server process exited");
    assert.equal((await fetch(`${served.url}/healthz`)).status, 200);
    served.process.kill("SIGKILL");
  });
});
