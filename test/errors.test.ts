/**
 * Every error code is triggered over a real socket against a real server, while a healthy stream on
 * another connection runs to completion with the exact expected transcript.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { ModelInvalidError } from "@earshot/engine-sherpa";
import { EngineRouter, TestEngine } from "@earshot/engines";
import { CloseCode, ERRORS } from "@earshot/protocol";
import { createServer, type EarshotServer } from "@earshot/server";
import { scrape } from "./helpers/prometheus.js";
import { rawHttp } from "./helpers/raw-http.js";
import { bursts, toBytes } from "./helpers/signals.js";
import { SEED_CONFIG, WireClient } from "./helpers/ws-client.js";

const KEY = "test-key";
const MAX_FRAME = 64 * 1024;
const MAX_SESSION_MS = 3000;

describe("error codes", () => {
  let server: EarshotServer;
  let url: string;
  let healthy: WireClient;
  const covered = new Set<string>();

  before(async () => {
    server = createServer({
      engine: new TestEngine(),
      apiKeys: [KEY],
      maxFrameBytes: MAX_FRAME,
    });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
    // The healthy stream starts first and is paced, so every bad client below runs while it streams.
    healthy = await WireClient.open(url, KEY);
    healthy.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
    await healthy.waitFor((m) => m.type === "session_started");
  });

  after(async () => {
    await server.close();
  });

  async function expectError(code: keyof typeof ERRORS, client: WireClient): Promise<void> {
    const error = await client.waitForError(code);
    assert.equal(error.retryable, ERRORS[code].retryable);
    assert.equal(typeof error.message, "string");
    assert.ok((error.message as string).length > 0);
    const spec = ERRORS[code];
    if ("close" in spec) {
      assert.equal((await client.closed).code, spec.close);
    } else {
      // The connection survives: a keepalive + bogus type round trip still answers.
      client.sendJson({ type: "ping-after-error" });
      await client.waitFor((m) => m.type === "error" && m.code === "unknown_message_type");
      assert.equal(client.ws.readyState, client.ws.OPEN);
    }
    covered.add(code);
  }

  async function configured(config: object = { ...SEED_CONFIG, model: "test" }): Promise<WireClient> {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config });
    await client.waitFor((m) => m.type === "session_started");
    return client;
  }

  it("unauthorized: missing or wrong key is refused at the upgrade with 401 and a JSON body", async () => {
    for (const key of [undefined, "wrong-key"]) {
      await assert.rejects(WireClient.open(url, key), /Unexpected server response: 401/);
    }
    const { status, body } = await rawUpgrade(url);
    assert.equal(status, 401);
    assert.equal(JSON.parse(body).code, "unauthorized");
    covered.add("unauthorized");
  });

  it("invalid_token: a used stream token is refused at the upgrade with 401", async () => {
    const minted = await fetch(`${url}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${KEY}` } });
    const { token } = (await minted.json()) as { token: string };
    const first = await WireClient.open(url, undefined, { protocols: ["token", token] });
    await assert.rejects(
      WireClient.open(url, undefined, { protocols: ["token", token] }),
      /Unexpected server response: 401/,
    );
    first.ws.close();
    covered.add("invalid_token");
  });

  it("invalid_signature: a Twilio media stream upgrade with a wrong X-Twilio-Signature is refused with 403", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], twilio: { authToken: "twilio-auth" } });
    const { url: localUrl } = await local.listen({ port: 0 });
    try {
      const { status, body } = await rawUpgrade(localUrl, "/v1/twilio/media-stream", {
        "X-Twilio-Signature": "bm90IHRoZSBzaWduYXR1cmU=",
      });
      assert.equal(status, 403);
      assert.deepEqual(JSON.parse(body).code, "invalid_signature");
      covered.add("invalid_signature");
    } finally {
      await local.close();
    }
  });

  it("too_many_tokens: a key over its unused-token limit is refused with 429 and Retry-After", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], maxTokensPerKey: 1 });
    const { url: localUrl } = await local.listen({ port: 0 });
    try {
      const mint = () =>
        fetch(`${localUrl}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${KEY}` } });
      assert.equal((await mint()).status, 200);
      const refused = await mint();
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) > 0);
      const body = (await refused.json()) as { code: string; retryable: boolean };
      assert.equal(body.code, "too_many_tokens");
      assert.equal(body.retryable, ERRORS.too_many_tokens.retryable);
      covered.add("too_many_tokens");
    } finally {
      await local.close();
    }
  });

  it("not_found: an unknown path is refused", async () => {
    await assert.rejects(WireClient.open(url, KEY, { path: "/v1/nope" }), /Unexpected server response: 404/);
    const response = await fetch(`${url}/nope`);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { code: string }).code, "not_found");
    covered.add("not_found");
  });

  it("bad_request: a target that is not a valid path or URL gets 400, as a request and at the upgrade", async () => {
    const { port } = new URL(url);
    const upgrade = `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${KEY}\r\n`;
    for (const headers of ["", upgrade]) {
      const answer = await rawHttp(Number(port), Buffer.from(`GET /%zz HTTP/1.1\r\nHost: x\r\n${headers}\r\n`));
      assert.equal(answer.status, 400);
      const body = JSON.parse(answer.body.toString()) as { code: string; retryable: boolean };
      assert.equal(body.code, "bad_request");
      assert.equal(body.retryable, ERRORS.bad_request.retryable);
    }
    covered.add("bad_request");
  });

  it("too_many_streams: a key over its stream limit is refused at the upgrade with 429", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY, "other"], maxStreamsPerKey: 1 });
    const { url: localUrl } = await local.listen({ port: 0 });
    try {
      const first = await WireClient.open(localUrl, KEY);
      await assert.rejects(WireClient.open(localUrl, KEY), /Unexpected server response: 429/);
      const other = await WireClient.open(localUrl, "other"); // other keys are unaffected
      other.ws.close();
      first.ws.close();
      await first.closed;
      const again = await WireClient.open(localUrl, KEY); // the slot is free again
      // Sessions left waiting for a resume are bounded too: a new one ends the oldest waiting one.
      again.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
      const token = (await again.waitFor((m) => m.type === "session_started")).resume_token;
      again.ws.terminate();
      await again.closed;
      const next = await WireClient.open(localUrl, KEY);
      next.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
      await next.waitFor((m) => m.type === "session_started");
      next.ws.terminate();
      await next.closed;
      const late = await WireClient.open(localUrl, KEY);
      late.sendJson({ type: "resume", resume_token: token, last_segment_id: -1 });
      await late.waitForError("session_not_found");
      late.ws.close();
      covered.add("too_many_streams");
    } finally {
      await local.close();
    }
  });

  it("over_capacity: a full server refuses a new stream at the upgrade with 503, or closes 1013 on config", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], admission: { maxStreams: 1 } });
    const { url: localUrl } = await local.listen({ port: 0 });
    await local.ready;
    try {
      const first = await WireClient.open(localUrl, KEY);
      first.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
      const token = (await first.waitFor((m) => m.type === "session_started")).resume_token as string;
      await assert.rejects(WireClient.open(localUrl, KEY), /Unexpected server response: 503/);
      // Let in to resume (details in admission.test.ts), it asks for a new session instead.
      const path = `/v1/audio/transcriptions/stream?resume_token=${encodeURIComponent(token)}`;
      const client = await WireClient.open(localUrl, KEY, { path });
      client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
      await expectError("over_capacity", client);
    } finally {
      await local.close();
    }
  });

  it("session_not_found: resuming an unknown session leaves the connection open for a config", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "resume", resume_token: "rt_not-a-session-token-at-all", last_segment_id: -1 });
    await expectError("session_not_found", client);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test", start_sample: 16_000 } });
    const started = await client.waitFor((m) => m.type === "session_started");
    assert.equal((started.config as { start_sample: number }).start_sample, 16_000);
  });

  it("bad_json", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson("{not json");
    await expectError("bad_json", client);
  });

  it("unknown_message_type", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "transcribe_please" });
    await expectError("unknown_message_type", client);
  });

  it("invalid_message: wrong field types", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { sample_rate: "sixteen thousand" } });
    await expectError("invalid_message", client);
  });

  it("unknown fields get a warning, not silence, and the message still works", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test", colour: "blue" }, extra: 1 });
    const warning = await client.waitFor((m) => m.type === "warning");
    assert.equal(warning.code, "unknown_field");
    assert.match(warning.message as string, /extra/);
    assert.match(warning.message as string, /config\.colour/);
    await client.waitFor((m) => m.type === "session_started");
  });

  it("audio_before_config", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "audio_chunk", audio: "00000000" });
    await expectError("audio_before_config", client);
    client.sendBinary(new Uint8Array(320));
    await client.waitFor((m) => m.type === "error" && m.code === "audio_before_config" && m !== client.messages[0]);
  });

  it("invalid_audio: bad hex and odd byte counts", async () => {
    const client = await configured();
    client.sendJson({ type: "audio_chunk", audio: "zz00" });
    await expectError("invalid_audio", client);
    client.sendJson({ type: "audio_chunk", audio: "abcdef" });
    client.sendBinary(new Uint8Array(3));
    await client.waitFor(() => client.messages.filter((m) => m.code === "invalid_audio").length >= 3);
  });

  it("config_already_set", async () => {
    const client = await configured();
    client.sendJson({ type: "config", config: { language: "de" } });
    await expectError("config_already_set", client);
  });

  it("unsupported_language", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, language: "tlh" } });
    await expectError("unsupported_language", client);
    // The connection stays usable: a corrected config starts the stream.
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
    await client.waitFor((m) => m.type === "session_started");
  });

  it("unsupported_model", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "gpt-9" } });
    await expectError("unsupported_model", client);
  });

  it("model_invalid: a model that failed to load, while the other engine serves", async () => {
    const broken = new TestEngine({
      name: "broken",
      models: ["broken-model"],
      languages: ["en"],
      loadError: new ModelInvalidError("encoder.onnx: not an ONNX model (no graph)"),
    });
    const local = createServer({ engine: new EngineRouter([new TestEngine(), broken]), apiKeys: [KEY] });
    const { url: localUrl } = await local.listen({ port: 0 });
    await local.ready;
    try {
      const client = await WireClient.open(localUrl, KEY);
      client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "broken-model" } });
      await expectError("model_invalid", client);
      assert.match(String(client.messages.find((m) => m.type === "error")?.message), /encoder\.onnx/);
      client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
      await client.waitFor((m) => m.type === "session_started");
    } finally {
      await local.close();
    }
  });

  it("keyterms_unsupported: an engine without key-term support", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test", keyterms: ["earshot"] } });
    await expectError("keyterms_unsupported", client);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
    await client.waitFor((m) => m.type === "session_started");
  });

  it("unsupported_redaction: a redact kind the server does not know", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test", redact: ["pci", "pii"] } });
    await expectError("unsupported_redaction", client);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test", redact: ["pci"] } });
    await client.waitFor((m) => m.type === "session_started");
  });

  it("invalid_resume_state: a resume_state that is no checkpoint, or one the engine cannot continue", async () => {
    const client = await WireClient.open(url, KEY);
    const notJson = Buffer.from("not json").toString("base64url");
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test", resume_state: notJson } });
    await expectError("invalid_resume_state", client);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
    await client.waitFor((m) => m.type === "session_started");

    // Well-formed, but the test engine continues no stream: refused when the stream opens, closing.
    const refused = await WireClient.open(url, KEY);
    const state = Buffer.from(JSON.stringify({ inner: {} })).toString("base64url");
    refused.sendJson({
      type: "config",
      config: { ...SEED_CONFIG, model: "test", start_sample: 16_000, resume_state: state },
    });
    const error = await refused.waitForError("invalid_resume_state");
    assert.equal(error.retryable, false);
    assert.equal((await refused.closed).code, CloseCode.policyViolation);
    assert.ok(!refused.messages.some((m) => m.type === "session_started"));
  });

  it("unsupported_encoding: encoding and sample rate", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, encoding: "flac" } });
    await expectError("unsupported_encoding", client);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, sample_rate: 8000 } });
    await client.waitFor(() => client.messages.filter((m) => m.code === "unsupported_encoding").length >= 2);
  });

  it("frame_too_large closes with 1009", async () => {
    const client = await configured();
    client.sendBinary(new Uint8Array(MAX_FRAME + 2));
    await expectError("frame_too_large", client);
  });

  it("session_too_long closes with 1008", async () => {
    // Its own server: the shared one's healthy stream must not meet a wall-clock limit on a slow machine.
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], maxSessionMs: MAX_SESSION_MS });
    const { url: localUrl } = await local.listen({ port: 0 });
    await local.ready;
    try {
      const client = await WireClient.open(localUrl, KEY);
      client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
      await client.waitFor((m) => m.type === "session_started");
      const second = toBytes(new Int16Array(16_000));
      for (let ms = 0; ms <= MAX_SESSION_MS; ms += 1000) client.sendBinary(second);
      await expectError("session_too_long", client);
    } finally {
      await local.close();
    }
  });

  it("config_timeout: a connection that sends no valid config in time is closed with 1008", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], configTimeoutMs: 300 });
    try {
      const { url: localUrl } = await local.listen({ port: 0 });
      await local.ready;
      const silent = await WireClient.open(localUrl, KEY);
      const opened = Date.now();
      await expectError("config_timeout", silent);
      assert.ok(Date.now() - opened >= 250, "not before the timeout");
      // A refused config does not count as one: the clock keeps running.
      const wrong = await WireClient.open(localUrl, KEY);
      wrong.sendJson({ type: "config", config: { ...SEED_CONFIG, language: "xx" } });
      await wrong.waitForError("unsupported_language");
      assert.equal((await wrong.closed).code, CloseCode.policyViolation);
    } finally {
      await local.close();
    }
  });

  it("slow_consumer: a client that leaves too much unread is closed with 1013 (to resume)", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY], maxOutboundBytes: 16 * 1024 });
    try {
      const { url: localUrl } = await local.listen({ port: 0 });
      await local.ready;
      const slow = await WireClient.open(localUrl, KEY);
      slow.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
      await slow.waitFor((m) => m.type === "session_started");
      slow.ws.pause();
      // Continuous speech: partials fill the socket buffers, then acks and finals wait in the server.
      const second = toBytes(bursts([{ toneMs: 1000, silenceMs: 0 }]));
      const closed = async () => ((await scrape(localUrl)).get('earshot_errors_total{code="slow_consumer"}') ?? 0) > 0;
      const deadline = Date.now() + 15_000;
      while (!(await closed()) && Date.now() < deadline) {
        for (let i = 0; i < 20 && slow.ws.bufferedAmount < 256 * 1024; i++) slow.sendBinary(second);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      slow.ws.resume();
      await expectError("slow_consumer", slow);
    } finally {
      await local.close();
    }
  });

  it("engine_unavailable when the engine cannot open a stream, and when it fails mid-stream", async () => {
    const broken = await WireClient.open(url, KEY);
    broken.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test-broken" } });
    await expectError("engine_unavailable", broken);
    const crashing = await configured({ ...SEED_CONFIG, model: "test-crash" });
    crashing.sendBinary(toBytes(new Int16Array(16 * 1500)));
    const error = await crashing.waitForError("engine_unavailable");
    assert.match(error.message as string, /crash/);
    assert.equal((await crashing.closed).code, CloseCode.internalError);
  });

  it("the healthy stream completes with the exact transcript meanwhile", async () => {
    const pcm = bursts([
      { toneMs: 1000, silenceMs: 500 },
      { toneMs: 600, silenceMs: 700 },
    ]);
    for (let i = 0; i < pcm.length; i += 1600) {
      healthy.sendBinary(toBytes(pcm.subarray(i, i + 1600)));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    healthy.sendJson({ type: "close_stream" });
    const closed = await healthy.waitFor((m) => m.type === "stream_closed");
    assert.equal(closed.audio_ms, 2800);
    assert.equal((await healthy.closed).code, CloseCode.normal);
    assert.deepEqual(
      healthy.finals().map((m) => m.text),
      ["alpha bravo charlie delta echo", "hotel india juliett"],
    );
    assert.deepEqual(
      healthy.finals().map((m) => [m.segment_id, m.start_ms, m.end_ms]),
      [
        [0, 0, 1000],
        [1, 1500, 2100],
      ],
    );
    assert.ok(healthy.messages.every((m) => m.type !== "error"));
  });

  it("server_shutting_down: close() tells open streams to reconnect with 1012", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url: localUrl } = await local.listen({ port: 0 });
    await local.ready;
    const client = await WireClient.open(localUrl, KEY);
    client.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
    await client.waitFor((m) => m.type === "session_started");
    await local.close();
    await expectError("server_shutting_down", client);
  });

  it("draining: a draining server refuses upgrades with 503, moves its streams and refuses late configs with 1012", async () => {
    const local = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url: localUrl } = await local.listen({ port: 0 });
    await local.ready;
    const streaming = await WireClient.open(localUrl, KEY);
    streaming.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
    await streaming.waitFor((m) => m.type === "session_started");
    const late = await WireClient.open(localUrl, KEY);
    const drained = local.drain();
    const { status, body } = await rawUpgrade(localUrl, undefined, { authorization: `Bearer ${KEY}` });
    assert.equal(status, 503);
    assert.equal(JSON.parse(body).code, "draining");
    await expectError("draining", streaming);
    assert.equal((await streaming.closed).reason, "draining");
    late.sendJson({ type: "config", config: { ...SEED_CONFIG, model: "test" } });
    await expectError("draining", late);
    await drained;
    await local.close();
  });

  it("covers every error code", () => {
    // internal_error is the catch-all for server bugs: no valid or invalid input reaches it once the
    // bugs it caught are fixed (test/fuzz.test.ts throws 10,000+ hostile inputs and expects none).
    const onlyOnBugs = ["internal_error"];
    assert.deepEqual(
      [...covered].sort(),
      Object.keys(ERRORS)
        .filter((c) => !onlyOnBugs.includes(c))
        .sort(),
    );
  });
});

/** An upgrade request without a key, read as plain HTTP so the status and body can be checked. */
function rawUpgrade(
  baseUrl: string,
  path = "/v1/audio/transcriptions/stream",
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, {
      headers: {
        ...extraHeaders,
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    req.on("response", (response) => {
      let body = "";
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
