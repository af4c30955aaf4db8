/**
 * AssemblyAI's `/v3/ws` and `GET /v3/token` against hostile clients, seeded: hundreds of mutated
 * query strings (every parameter with wrong, huge, empty, repeated and encoded values; bad
 * credentials), then mutated JSON messages, garbage text and odd, empty and oversized binary frames
 * on the streams let in. Every stream ends with a close code from AssemblyAI's table (or 1000, or
 * 1005/1006 where the client closed or cut it), every `Error` frame matches its close, nothing escapes a handler,
 * and a clean stream beside them, and one after, is transcribed exactly. The log names why streams
 * were refused and never holds a secret (the API key, a temporary token).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { AAI_ERRORS, createServer, type EarshotServer } from "@earshot/server";
import { between, mulberry32, pick, type Random } from "@earshot/test-support";
import WebSocket from "ws";
import { capturedLog } from "./helpers/captured-log.js";
import { scrape } from "./helpers/prometheus.js";
import { bursts } from "./helpers/signals.js";

const KEY = "aai-fuzz-key";
const SEED = 0x0a_a1_20_26;
const STREAMS = 300;
const TOKEN_REQUESTS = 200;
const CLIP = bursts([
  { toneMs: 1000, silenceMs: 500 },
  { toneMs: 600, silenceMs: 700 },
]);
const CLIP_BYTES = new Uint8Array(CLIP.buffer, CLIP.byteOffset, CLIP.byteLength);
/** 1005 and 1006: the client closed without a code, or cut the socket. */
const CLOSE_CODES = new Set<number>([1000, 1005, 1006, ...Object.values(AAI_ERRORS).map((e) => e.closeCode)]);

const PARAMS = [
  "sample_rate",
  "encoding",
  "format_turns",
  "max_turn_silence",
  "min_turn_silence",
  "end_of_turn_confidence_threshold",
  "keyterms_prompt",
  "language_code",
  "speech_model",
  "redact_pii",
  "token",
  "inactivity_timeout",
  "__proto__",
  "constructor",
];
const VALUES = [
  "",
  "16000",
  "8000",
  "48000",
  "0",
  "-1",
  "1e9",
  "NaN",
  "true",
  "false",
  "True",
  "pcm_s16le",
  "pcm_mulaw",
  "opus",
  '["a","b"]',
  "[1]",
  "{}",
  "[",
  "en",
  "x".repeat(300),
  "%00",
  "%F0%9F%8E%99",
  "est_forged",
  "'; DROP TABLE",
];

function hostileQuery(random: Random): string {
  const parts: string[] = [];
  for (let i = between(random, 0, 6); i > 0; i--) {
    const name = pick(random, PARAMS);
    const value = pick(random, VALUES);
    parts.push(random() < 0.1 ? name : `${name}=${random() < 0.5 ? encodeURIComponent(value) : value}`);
  }
  return parts.join(pick(random, ["&", "&", "&&", ";"]));
}

function hostileMessage(random: Random): string | Uint8Array {
  const valid = [
    { type: "UpdateConfiguration", format_turns: true, max_turn_silence: 800 },
    { type: "ForceEndpoint" },
    { type: "KeepAlive" },
    { type: "Terminate" },
  ];
  return pick(random, [
    () => JSON.stringify(pick(random, valid)),
    () => JSON.stringify({ ...pick(random, valid), extra: "x".repeat(between(random, 0, 2000)) }),
    () => JSON.stringify({ type: pick(random, ["Turn", "Begin", "terminate", "", 7, null]) }),
    () => JSON.stringify({ type: "UpdateConfiguration", format_turns: pick(random, ["yes", 1, null, {}]) }),
    () => JSON.stringify({ type: "UpdateConfiguration", keyterms_prompt: pick(random, ["a", [1], ["x".repeat(200)]]) }),
    () => pick(random, ["", "{", "null", "[]", "1", '"Terminate"', "{}", '{"__proto__":{"type":"Terminate"}}']),
    () => `${"[".repeat(5000)}${"]".repeat(5000)}`,
    () => CLIP_BYTES.subarray(0, between(random, 0, 3200)),
    () => new Uint8Array(between(random, 1, 5) * 2 + 1),
    () => new Uint8Array(between(random, 32_002, 40_000)),
  ])();
}

/** Opens a stream, sends what the seed says, and resolves with its close code and any Error frame. */
async function hostileStream(url: string, random: Random): Promise<{ code: number; errors: number[] }> {
  const headers = random() < 0.85 ? { Authorization: random() < 0.9 ? KEY : "wrong" } : {};
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v3/ws?${hostileQuery(random)}`, { headers });
  const errors: number[] = [];
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { type?: string; error_code?: number };
    if (frame.type === "Error") errors.push(frame.error_code ?? -1);
  });
  ws.on("error", () => {});
  const closed = once(ws, "close") as Promise<[number]>;
  await once(ws, "open");
  for (let i = between(random, 0, 8); i > 0 && ws.readyState === WebSocket.OPEN; i--) {
    ws.send(hostileMessage(random));
  }
  if (random() < 0.3) ws.terminate();
  else if (random() < 0.5 && ws.readyState === WebSocket.OPEN) ws.send('{"type":"Terminate"}');
  else ws.close();
  const [code] = await closed;
  return { code, errors };
}

async function cleanStream(url: string): Promise<string[]> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v3/ws?sample_rate=16000`, {
    headers: { Authorization: KEY },
  });
  const ended: string[] = [];
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { type: string; end_of_turn?: boolean; transcript?: string };
    if (frame.type === "Turn" && frame.end_of_turn) ended.push(frame.transcript ?? "");
  });
  const closed = once(ws, "close") as Promise<[number]>;
  await once(ws, "open");
  for (let at = 0; at < CLIP_BYTES.byteLength; at += 3200) {
    ws.send(CLIP_BYTES.subarray(at, at + 3200));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  ws.send('{"type":"Terminate"}');
  const [code] = await closed;
  assert.equal(code, 1000);
  return ended;
}

describe("AssemblyAI streaming v3 under hostile clients", () => {
  let server: EarshotServer;
  let url: string;
  const log = capturedLog();
  const minted: string[] = [];

  before(async () => {
    server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      maxStreamsPerKey: 1000,
      logger: log.logger,
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  it(`${STREAMS} hostile streams: AssemblyAI's codes only, and clean streams are exact`, async (t) => {
    const random = mulberry32(SEED);
    const expected = await cleanStream(url);
    assert.ok(expected.length > 0, "the clean clip gives turns");
    const beside = cleanStream(url);
    const seen = new Map<number, number>();
    for (let i = 0; i < STREAMS; i++) {
      const { code, errors } = await hostileStream(url, random);
      seen.set(code, (seen.get(code) ?? 0) + 1);
      assert.ok(CLOSE_CODES.has(code), `close code ${code}`);
      for (const errorCode of errors) assert.equal(errorCode, code, "an Error frame's code is its close code");
      assert.ok(errors.length <= 1, "at most one Error frame");
    }
    assert.deepEqual(await beside, expected);
    assert.deepEqual(await cleanStream(url), expected);
    t.diagnostic(`close codes: ${JSON.stringify(Object.fromEntries(seen))}`);
    assert.ok((seen.get(3006) ?? 0) > STREAMS / 10, "many streams refused with 3006");
    assert.ok((seen.get(1000) ?? 0) > 0, "some streams ended normally");
  });

  it(`${TOKEN_REQUESTS} hostile token requests: AssemblyAI's error shape only`, async () => {
    const random = mulberry32(SEED + 1);
    for (let i = 0; i < TOKEN_REQUESTS; i++) {
      const headers: Record<string, string> =
        random() < 0.7 ? { Authorization: pick(random, [KEY, `Bearer ${KEY}`, "x", " "]) } : {};
      const method = pick(random, ["GET", "GET", "GET", "POST", "PUT", "DELETE"]);
      const expires = `expires_in_seconds=${pick(random, [...VALUES, "1", "60", "600"])}`;
      const session = `&max_session_duration_seconds=${pick(random, [...VALUES, "60", "10800"])}`;
      const query = random() < 0.3 ? expires + session : expires;
      const answer = await fetch(`${url}/v3/token?${query}`, { method, headers });
      const body = (await answer.json()) as { token?: unknown; error?: unknown };
      if (answer.status === 200) {
        assert.equal(typeof body.token, "string");
        minted.push(String(body.token));
      } else {
        assert.ok([400, 401, 405, 429].includes(answer.status), `status ${answer.status}`);
        assert.equal(typeof body.error, "string");
      }
    }
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const metrics = await scrape(url);
    assert.ok(metrics.size > 0);
  });

  it("logs why streams ended, never a secret", async () => {
    const fresh: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await fetch(`${url}/v3/token?expires_in_seconds=60`, { headers: { Authorization: KEY } });
      fresh.push(((await answer.json()) as { token: string }).token);
    }
    minted.push(...fresh);
    // Each token opens a stream (refused for its parameters), so one that reached the log is caught here.
    for (const token of fresh) {
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v3/ws?token=${token}&sample_rate=abc`);
      await once(ws, "close");
    }
    const text = log.text();
    assert.match(text, /assemblyai stream ended/);
    assert.match(text, /"code":"invalid_parameter"/);
    for (const secret of [KEY, ...minted]) assert.ok(!text.includes(secret), "a secret was logged");
  });
});
