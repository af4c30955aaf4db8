/**
 * One server, several engines (EngineRouter): each stream reaches the engine serving its model, or
 * for the default model its language; an engine that failed to load refuses only its own models,
 * with its own error, while the others keep serving.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ModelInvalidError } from "@earshot/engine-sherpa";
import { EngineRouter, TestEngine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { bursts, toBytes } from "./helpers/signals.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "router-key";

describe("engine router", () => {
  const english = new TestEngine({ name: "english", models: ["alpha"], languages: ["en"] });
  const mandarin = new TestEngine({ name: "mandarin", models: ["beta"], languages: ["zh"] });
  const broken = new TestEngine({
    name: "broken",
    models: ["gamma"],
    languages: ["en"],
    loadError: new ModelInvalidError("joiner.onnx: empty file"),
  });
  const router = new EngineRouter([english, mandarin, broken]);
  let server: EarshotServer;
  let url: string;

  before(async () => {
    server = createServer({ engine: router, apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(() => server.close());

  async function configure(config: object): Promise<WireClient> {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config });
    await client.waitFor((m) => m.type === "session_started" || m.type === "error");
    return client;
  }

  const errorCode = (client: WireClient) => client.messages.find((m) => m.type === "error")?.code;

  it("loads while one engine fails, and reports which", () => {
    assert.equal(router.ready, true);
    assert.deepEqual([...router.loadErrors.keys()], ["broken"]);
    assert.deepEqual(router.capabilities.models, ["alpha", "beta", "gamma"]);
    assert.deepEqual(router.capabilities.modelLanguages, { alpha: ["en"], beta: ["zh"], gamma: ["en"] });
  });

  it("sends a default-model stream to the engine of its language, and a named model to its engine", async () => {
    const zh = await configure({ language: "zh" });
    const named = await configure({ model: "beta" });
    const en = await configure({ language: "en-US" });
    assert.equal(zh.messages[0]?.type, "session_started");
    assert.equal(named.messages[0]?.type, "session_started");
    await waitForStreams(() => mandarin.loadSnapshot().streams === 2 && english.loadSnapshot().streams === 1);
    for (const client of [zh, named, en]) client.ws.close();
  });

  it("refuses a language its model does not serve, and an unknown model", async () => {
    const wrongLanguage = await configure({ model: "beta", language: "en" });
    assert.equal(errorCode(wrongLanguage), "unsupported_language");
    const unknown = await configure({ model: "delta" });
    assert.equal(errorCode(unknown), "unsupported_model");
    const noEngine = await configure({ language: "fr" });
    assert.equal(errorCode(noEngine), "unsupported_language");
  });

  it("gives the failed engine's own error for its model while another stream keeps going", async () => {
    const live = await configure({ model: "alpha" });
    live.sendBinary(toBytes(bursts([{ toneMs: 600, silenceMs: 500 }])));
    const refused = await configure({ model: "gamma" });
    await refused.waitFor((m) => m.type === "error");
    assert.equal(errorCode(refused), "model_invalid");
    live.sendBinary(toBytes(bursts([{ toneMs: 600, silenceMs: 500 }])));
    live.sendJson({ type: "close_stream" });
    await live.waitFor((m) => m.type === "stream_closed");
    assert.equal(live.finals().filter((f) => String(f.text).length > 0).length, 2);
    assert.equal(errorCode(live), undefined);
  });
});

describe("engine router: word timestamps", () => {
  it("sends transcripts without words when one of its engines gives none, even if `word` was asked for", async () => {
    const wordless = new TestEngine({ name: "wordless", models: ["delta"], declares: { wordTimestamps: false } });
    const server = createServer({ engine: new EngineRouter([new TestEngine(), wordless]), apiKeys: [KEY] });
    try {
      const { url } = await server.listen({ port: 0 });
      await server.ready;
      const client = await WireClient.open(url, KEY);
      client.sendJson({ type: "config", config: { language: "en", timestamp_granularity: "word" } });
      client.sendBinary(toBytes(bursts([{ toneMs: 600, silenceMs: 500 }])));
      client.sendJson({ type: "close_stream" });
      await client.waitFor((m) => m.type === "stream_closed");
      const finals = client.finals().filter((f) => String(f.text).length > 0);
      assert.equal(finals.length, 1);
      assert.ok(finals.every((f) => !("words" in f)));
    } finally {
      await server.close();
    }
  });
});

async function waitForStreams(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("streams did not reach their engines");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
