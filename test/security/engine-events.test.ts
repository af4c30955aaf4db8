/**
 * Issue 13, the engine-event path: a throw while relaying one engine event to the client (here the
 * test engine's `test-malformed` model, whose finals lack their `words`, as a buggy engine's might)
 * ends that session with `internal_error` (close 1011, no resume). It is not blamed on the engine
 * (`engine_unavailable`), it does not escape as an unhandled rejection (which would end this test
 * process and, in `earshot serve`, every stream), and a stream beside it carries on.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { CloseCode, ERRORS } from "@earshot/protocol";
import { createServer } from "@earshot/server";
import { bursts, toBytes } from "../helpers/signals.js";
import { WireClient } from "../helpers/ws-client.js";

const KEY = "engine-events-key";
const SPEECH = toBytes(bursts([{ toneMs: 400, silenceMs: 600 }]));

async function configured(url: string, model: string): Promise<{ client: WireClient; resumeToken: string }> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: { language: "en", model, timestamp_granularity: "word" } });
  const started = await client.waitFor((m) => m.type === "session_started");
  return { client, resumeToken: String(started.resume_token) };
}

describe("an engine event the server fails to relay", () => {
  it("ends that session with internal_error; the server and a stream beside it carry on", async () => {
    await using server = createServer({ engine: new TestEngine(), apiKeys: [KEY] });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    const healthy = await configured(url, "test");
    const broken = await configured(url, "test-malformed");

    broken.client.sendBinary(SPEECH);
    const error = await broken.client.waitFor((m) => m.type === "error");
    assert.equal(error.code, "internal_error", "the failure is the server's, not the engine's");
    assert.equal(error.retryable, ERRORS.internal_error.retryable);
    assert.equal((await broken.client.closed).code, CloseCode.internalError);
    // The session ended for good: its resume token finds nothing.
    const again = await WireClient.open(url, KEY);
    again.sendJson({ type: "resume", resume_token: broken.resumeToken, last_segment_id: -1 });
    await again.waitForError("session_not_found");
    again.ws.close();

    healthy.client.sendBinary(SPEECH);
    healthy.client.sendJson({ type: "close_stream" });
    await healthy.client.waitFor((m) => m.type === "stream_closed");
    assert.deepEqual(
      healthy.client.finals().map((m) => [m.start_ms, m.end_ms, (m.words as unknown[]).length]),
      [[0, 400, 2]],
    );
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });
});

describe("an engine stream that fails when it is given back", () => {
  it("ends only its session, from the hold timer, the grace timer or close_stream; the server carries on", async () => {
    await using server = createServer({ engine: new TestEngine(), apiKeys: [KEY], holdDecoderMs: 50 });
    const { url } = await server.listen({ port: 0 });
    await server.ready;
    // Dropped: the hold timer gives the decoder back, and close() throws there.
    const dropped = await configured(url, "test-bad-close");
    dropped.client.sendBinary(SPEECH);
    await dropped.client.waitFor((m) => m.type === "transcript" && m.is_final === true);
    dropped.client.ws.terminate();
    // Closed by the client: the engine stream is given back after stream_closed, and throws.
    const closing = await configured(url, "test-bad-close");
    closing.client.sendJson({ type: "close_stream" });
    await closing.client.waitFor((m) => m.type === "stream_closed");
    for (let waited = 0; server.sessionCount > 0 && waited < 5000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(server.sessionCount, 0, "both sessions ended");
    const again = await WireClient.open(url, KEY);
    again.sendJson({ type: "resume", resume_token: dropped.resumeToken, last_segment_id: 0 });
    await again.waitForError("session_not_found");
    again.ws.close();
    const healthy = await configured(url, "test");
    healthy.client.sendBinary(SPEECH);
    healthy.client.sendJson({ type: "close_stream" });
    await healthy.client.waitFor((m) => m.type === "stream_closed");
    assert.equal(healthy.client.finals().length, 1);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });
});
