/**
 * AssemblyAI's `/v3/ws` and `GET /v3/token` at the wire, with a raw `ws` client against a real
 * server with the PocketSphinx engine: the audio formats the SDK test does not send (μ-law at
 * 8 kHz, PCM at 48 kHz, resampled here), every refusal as AssemblyAI's `Error` frame and close code,
 * the parameters accepted and ignored, the token route's errors in AssemblyAI's shape, and the
 * surface's metrics.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import { Resampler } from "@earshot/audio";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { TestEngine } from "@earshot/engines";
import { AAI_ERRORS, createServer, type EarshotServer, IGNORED_PARAMS_HEADER } from "@earshot/server";
import { EVAL_DIR, loadMulaw, loadPcm, normalizeWords } from "@earshot/test-support";
import WebSocket from "ws";
import { sample, scrape } from "./helpers/prometheus.js";

const KEY = "aai-wire-key";
const GOFORWARD = "go forward ten meters";
const PCM_16K = new URL("en-16k/ps-goforward.wav", EVAL_DIR).pathname;
const MULAW_8K = new URL("en-8k-mulaw/ps-goforward.wav", EVAL_DIR).pathname;

interface Frame {
  readonly type: string;
  readonly [field: string]: unknown;
}

interface Session {
  readonly frames: Frame[];
  readonly closed: { code: number; reason: string };
  readonly upgrade: IncomingMessage | undefined;
}

/** One `/v3/ws` stream: `send` runs once the socket opens; resolves with everything once it closes. */
async function stream(
  url: string,
  query: string,
  send: (ws: WebSocket, frames: readonly Frame[]) => Promise<void> | void,
  headers: Record<string, string> = { Authorization: KEY },
): Promise<Session> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v3/ws?${query}`, { headers });
  const frames: Frame[] = [];
  let upgrade: IncomingMessage | undefined;
  ws.on("upgrade", (response) => {
    upgrade = response;
  });
  ws.on("message", (data) => frames.push(JSON.parse(String(data)) as Frame));
  const closing = once(ws, "close") as Promise<[number, Buffer]>;
  await once(ws, "open");
  await send(ws, frames);
  const [code, reason] = await closing;
  return { frames, closed: { code, reason: String(reason) }, upgrade };
}

/** Sends `audio` in frames of `frameBytes`, then `Terminate`. */
function audioThenTerminate(audio: Uint8Array, frameBytes: number) {
  return async (ws: WebSocket) => {
    for (let at = 0; at < audio.byteLength; at += frameBytes) {
      ws.send(audio.subarray(at, at + frameBytes));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    ws.send(JSON.stringify({ type: "Terminate" }));
  };
}

const endedText = (frames: readonly Frame[]) =>
  frames
    .filter((f) => f.type === "Turn" && f.end_of_turn === true && f.turn_is_formatted === false)
    .map((f) => String(f.transcript))
    .join(" ");

const bytesOf = (samples: Int16Array) => new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);

/** Asserts the stream was refused with AssemblyAI's `Error` frame, then a close with the same code. */
function assertRefused(session: Session, code: keyof typeof AAI_ERRORS, message?: RegExp): void {
  const { closeCode, reason } = AAI_ERRORS[code];
  const error = session.frames.find((f) => f.type === "Error");
  assert.ok(error, `an Error frame before the close (${code})`);
  assert.equal(error.error_code, closeCode);
  assert.ok(String(error.error).startsWith(`${reason}: `), String(error.error));
  if (message) assert.match(String(error.error), message);
  assert.equal(session.closed.code, closeCode);
  assert.equal(session.frames.at(-1), error, "nothing after the Error frame");
}

describe("AssemblyAI streaming v3 on the wire", () => {
  let server: EarshotServer;
  let url: string;

  before(async () => {
    // A resume grace far beyond any test's run: a session kept for a resume would show (AssemblyAI has none).
    server = createServer({
      engine: new PocketSphinxEngine({ workers: 1 }),
      apiKeys: [KEY],
      maxStreamsPerKey: 3,
      resumeGraceMs: 10 * 60_000,
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });
  after(() => server.close());

  it("pcm_mulaw at 8 kHz and pcm_s16le at 48 kHz give the 16 kHz file's words", async () => {
    const mulaw = await stream(
      url,
      "encoding=pcm_mulaw&sample_rate=8000",
      audioThenTerminate(loadMulaw(MULAW_8K), 800),
    );
    const pcm = loadPcm(PCM_16K);
    const upsampler = new Resampler({ inputRate: 16_000, outputRate: 48_000 });
    const pcm48k = bytesOf(Int16Array.from([...upsampler.push(pcm), ...upsampler.flush()]));
    const wide = await stream(url, "sample_rate=48000", audioThenTerminate(pcm48k, 9600));
    for (const session of [mulaw, wide]) {
      assert.equal(session.frames[0]?.type, "Begin");
      assert.equal(session.frames.at(-1)?.type, "Termination");
      assert.equal(session.closed.code, 1000);
      assert.equal(normalizeWords(endedText(session.frames)).join(" "), GOFORWARD);
    }
    const termination = wide.frames.at(-1);
    assert.equal(termination?.audio_duration_seconds, Math.round(pcm.length / 16_000));
  });

  it("names the parameters it takes without acting on them in the 101 answer", async () => {
    const query = "speech_model=universal-streaming-english&vad_threshold=0.4&min_turn_silence=160&not_a_param=1";
    const session = await stream(url, query, (ws) => ws.send(JSON.stringify({ type: "Terminate" })));
    assert.equal(session.closed.code, 1000);
    assert.equal(
      session.upgrade?.headers[IGNORED_PARAMS_HEADER],
      "speech_model, vad_threshold, min_turn_silence, not_a_param",
    );
    assert.deepEqual(
      session.frames.map((f) => f.type),
      ["Begin", "Termination"],
    );
    const injected = await stream(url, "a%0D%0AX-Injected:%201=1", (ws) => ws.send('{"type":"Terminate"}'));
    assert.equal(injected.upgrade?.headers[IGNORED_PARAMS_HEADER], "a%0D%0AX-Injected%3A%201");
    assert.equal(injected.upgrade?.headers["x-injected"], undefined);
  });

  it("ends the session with a socket that goes, even right after Terminate", { timeout: 120_000 }, async () => {
    const pcm = bytesOf(loadPcm(PCM_16K));
    for (const terminateFirst of [false, true]) {
      await stream(url, "", async (ws, frames) => {
        while (frames.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        ws.send(pcm.subarray(0, 16_000));
        if (terminateFirst) ws.send('{"type":"Terminate"}');
        ws.terminate();
      });
    }
    while (server.sessionCount > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const metrics = await scrape(url);
    assert.ok(sample(metrics, 'earshot_assemblyai_streams_total{result="dropped"}') >= 2);
  });

  it("refuses credentials and parameters with AssemblyAI's codes", async () => {
    const none = () => {};
    assertRefused(await stream(url, "", none, {}), "unauthorized", /Missing Authorization header/);
    assertRefused(await stream(url, "", none, { Authorization: "wrong" }), "unauthorized");
    assertRefused(await stream(url, "token=est_forged", none, {}), "unauthorized");
    const refusals: Array<[string, keyof typeof AAI_ERRORS]> = [
      ["sample_rate=abc", "invalid_parameter"],
      ["sample_rate=96000", "invalid_parameter"],
      ["encoding=opus", "invalid_parameter"],
      ["format_turns=maybe", "invalid_parameter"],
      ["max_turn_silence=5", "invalid_parameter"],
      ["keyterms_prompt=%5B1%5D", "invalid_parameter"],
      ["redact_pii=true", "invalid_parameter"],
      ["webhook_url=https%3A%2F%2Fexample.com", "invalid_parameter"],
      ["end_of_turn_confidence_threshold=2", "invalid_parameter"],
      ["language_code=xx", "invalid_parameter"],
    ];
    for (const [query, code] of refusals) assertRefused(await stream(url, query, none), code);
  });

  it("ends a stream on a bad frame with AssemblyAI's codes", async () => {
    const frames: Array<[string | Uint8Array, keyof typeof AAI_ERRORS]> = [
      ["not json", "invalid_json"],
      ['{"type":"Nope"}', "invalid_message_type"],
      ["[]", "invalid_message"],
      ['{"type":"UpdateConfiguration","format_turns":"yes"}', "invalid_message"],
      [new Uint8Array(3), "invalid_message"],
      [new Uint8Array(2 * 16_001), "input_duration"],
    ];
    for (const [data, code] of frames) {
      const session = await stream(url, "", async (ws, frames) => {
        while (frames.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        ws.send(data);
      });
      assert.equal(session.frames[0]?.type, "Begin");
      assertRefused(session, code);
    }
  });

  it("refuses a key's streams past its limit with 3009", async () => {
    const held = await Promise.all(
      [0, 1, 2].map(async () => {
        const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v3/ws`, { headers: { Authorization: KEY } });
        const begun = once(ws, "message");
        await once(ws, "open");
        await begun;
        return ws;
      }),
    );
    assertRefused(await stream(url, "", () => {}), "too_many_sessions");
    for (const ws of held) ws.close();
    await Promise.all(held.map((ws) => once(ws, "close")));
  });

  it("GET /v3/token answers AssemblyAI's shapes", async () => {
    const token = (query: string, init: RequestInit = {}) => fetch(`${url}/v3/token?${query}`, init);
    const minted = await token("expires_in_seconds=30", { headers: { Authorization: KEY } });
    assert.equal(minted.status, 200);
    assert.equal(minted.headers.get("cache-control"), "no-store");
    const body = (await minted.json()) as { token: string; expires_in_seconds: number };
    assert.equal(body.expires_in_seconds, 30);
    const used = await stream(url, `token=${body.token}`, (ws) => ws.send('{"type":"Terminate"}'), {});
    assert.equal(used.closed.code, 1000);
    // max_session_duration_seconds bounds the token's session: Begin says when, and 3008 ends it there.
    const bounded = await token("expires_in_seconds=30&max_session_duration_seconds=60", {
      headers: { Authorization: KEY },
    });
    const { token: short } = (await bounded.json()) as { token: string };
    const opened = Date.now() / 1000;
    const expired = await stream(
      url,
      `token=${short}`,
      async (ws, frames) => {
        while (frames.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        const second = new Uint8Array(32_000);
        for (let s = 0; s < 61 && ws.readyState === WebSocket.OPEN; s++) ws.send(second);
      },
      {},
    );
    const expiresAt = Number(expired.frames[0]?.expires_at);
    assert.ok(expiresAt >= Math.floor(opened) + 59 && expiresAt <= opened + 61, `expires_at ${expiresAt}`);
    assertRefused(expired, "session_expired");
    const refusals: Array<[string, RequestInit, number]> = [
      ["expires_in_seconds=30", {}, 401],
      ["expires_in_seconds=30", { headers: { Authorization: "wrong" } }, 401],
      ["", { headers: { Authorization: KEY } }, 400],
      ["expires_in_seconds=0", { headers: { Authorization: KEY } }, 400],
      ["expires_in_seconds=601", { headers: { Authorization: KEY } }, 400],
      ["expires_in_seconds=30&max_session_duration_seconds=10", { headers: { Authorization: KEY } }, 400],
      ["expires_in_seconds=30", { method: "POST", headers: { Authorization: KEY } }, 405],
    ];
    for (const [query, init, status] of refusals) {
      const answer = await token(query, init);
      assert.equal(answer.status, status, query);
      const error = (await answer.json()) as { error?: unknown };
      assert.equal(typeof error.error, "string");
    }
    assert.equal((await fetch(`${url}/v3/ws`)).status, 426);
    const metrics = await scrape(url);
    assert.equal(sample(metrics, 'earshot_assemblyai_tokens_total{result="ok"}'), 2);
    assert.equal(sample(metrics, 'earshot_assemblyai_tokens_total{result="unauthorized"}'), 2);
    assert.equal(sample(metrics, 'earshot_assemblyai_tokens_total{result="invalid_parameter"}'), 4);
    assert.equal(sample(metrics, 'earshot_assemblyai_streams_total{result="too_many_sessions"}'), 1);
    assert.ok(sample(metrics, 'earshot_assemblyai_streams_total{result="invalid_parameter"}') >= 10);
  });
});

describe("AssemblyAI streaming v3 at shutdown", () => {
  it("tells an open stream to reconnect: Error 1012, then close 1012", async () => {
    const server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const session = await stream(url, "", async (_ws, frames) => {
      while (frames.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await server.close();
    });
    assert.equal(session.frames[0]?.type, "Begin");
    assertRefused(session, "server_shutting_down");
  });
});
