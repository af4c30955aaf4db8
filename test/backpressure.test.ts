/**
 * When the engine falls behind, the server stops reading that client's socket instead of queueing
 * its audio without bound, and reads again once the engine has caught up: nothing is lost.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { bursts, toBytes } from "./helpers/signals.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "bp-key";
const MAX_BACKLOG_MS = 1000;
/** 12 s of speech-like bursts: far more than the backlog limit. */
const SIGNAL = bursts(Array.from({ length: 12 }, () => ({ toneMs: 600, silenceMs: 400 })));

async function transcribe(url: string, model: string): Promise<string[]> {
  const client = await WireClient.open(url, KEY);
  client.sendJson({ type: "config", config: { model, language: "en" } });
  await client.waitFor((m) => m.type === "session_started");
  for (let at = 0; at < SIGNAL.length; at += 1600) client.sendBinary(toBytes(SIGNAL.subarray(at, at + 1600)));
  client.sendJson({ type: "close_stream" });
  await client.waitFor((m) => m.type === "stream_closed", 20_000, "stream_closed");
  return client.finals().map((f) => `${f.segment_id} ${f.start_ms}-${f.end_ms} ${f.text}`);
}

describe("engine backpressure", () => {
  const engine = new TestEngine();
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine, apiKeys: [KEY], maxEngineBacklogMs: MAX_BACKLOG_MS });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  it("a slow engine holds the sender back; the transcript is complete", async () => {
    const expected = await transcribe(url, "test");
    const slow = await transcribe(url, "test-slow");
    assert.deepEqual(slow, expected);
    assert.equal(expected.length, 12);
    // Reading stops above the limit; what the socket had already read still arrives (one TCP read).
    assert.ok(engine.peakBacklogMs > MAX_BACKLOG_MS, `the engine did fall behind (${engine.peakBacklogMs} ms)`);
    assert.ok(engine.peakBacklogMs < MAX_BACKLOG_MS + 3000, `backlog peaked at ${engine.peakBacklogMs} ms`);
  });
});
