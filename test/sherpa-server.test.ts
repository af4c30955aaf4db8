/**
 * The sherpa-onnx engine behind the real server: a WebSocket client streams 8 kHz mu-law noise and
 * silence (the telephone path: the server upsamples to 16 kHz) and gets partials, a speech final
 * with word times and an utterance_end; key terms are refused with greedy_search.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { concatPcm, mulawEncode } from "@earshot/audio";
import { SherpaOnnxEngine } from "@earshot/engine-sherpa";
import { noisePcm, writeTinyTransducer } from "@earshot/engine-sherpa/testing/tiny-transducer";
import { createServer, type EarshotServer } from "@earshot/server";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "test-key";

describe("sherpa-onnx engine through the server", () => {
  let root: string;
  let server: EarshotServer;
  let url: string;
  let engine: SherpaOnnxEngine;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "earshot-sherpa-server-"));
    const dir = join(root, "tiny-en");
    // Upsampled telephone audio has nothing above 4 kHz, so the mean over all 80 mel bins is lower.
    await writeTinyTransducer(dir, { threshold: -6 });
    // A directory placed by hand: the spec is inferred, the name is the directory's.
    engine = new SherpaOnnxEngine({ models: [dir], endpointingMs: 400 });
    server = createServer({ engine, apiKeys: [KEY] });
    ({ url } = await server.listen({ port: 0 }));
    await server.ready;
  });

  after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it("streams 8 kHz mu-law and gets partials, a speech final with word times, and utterance_end", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({
      type: "config",
      config: { model: "tiny-en", language: "en", encoding: "mulaw", sample_rate: 8000 },
    });
    await client.waitFor((m) => m.type === "session_started");
    // At 8 kHz, noisePcm(500) is 1 s of audio: 0.5 s silence, 1 s noise, 1 s silence.
    const audio = mulawEncode(concatPcm(new Int16Array(4000), noisePcm(500, 0.5), new Int16Array(8000)));
    for (let i = 0; i < audio.length; i += 800) client.sendBinary(audio.subarray(i, i + 800));
    client.sendJson({ type: "close_stream" });
    await client.waitFor((m) => m.type === "stream_closed");
    const partials = client.messages.filter((m) => m.type === "transcript" && m.is_final === false);
    assert.ok(partials.length > 0, JSON.stringify(client.messages));
    const [final] = client.finals();
    assert.match(String(final?.text), /^A{15,}$/);
    assert.equal(final?.speech_final, true);
    const words = final?.words as Array<{ start_ms: number; end_ms: number }>;
    assert.ok(words.length > 15);
    assert.ok((words[0]?.start_ms ?? 0) >= 500 && (words.at(-1)?.end_ms ?? 0) <= 1600, JSON.stringify(words));
    const end = client.messages.find((m) => m.type === "utterance_end");
    assert.equal(end?.segment_id, final?.segment_id);
  });

  it("refuses keyterms with greedy_search (keyterms_unsupported), then takes a config without them", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { model: "tiny-en", keyterms: ["acme"] } });
    const error = await client.waitForError("keyterms_unsupported");
    assert.equal(error.retryable, false);
    client.sendJson({ type: "config", config: { model: "tiny-en" } });
    await client.waitFor((m) => m.type === "session_started");
    client.ws.close();
  });

  it("four sockets at once are decoded in shared batches, each gets one final per utterance (reset between)", async () => {
    const before = engine.batchStats;
    // 16 kHz PCM this time: two bursts of noise, each closed by a pause longer than endpointing_ms,
    // then silence. Each socket sends it all in one message, so every stream has a backlog of
    // chunks at once and the host's steps (one chunk per stream each) take them together.
    const pcm = concatPcm(
      noisePcm(800, 0.5),
      new Int16Array(16 * 900),
      noisePcm(800, 0.5),
      new Int16Array(16 * 900),
      new Int16Array(16 * 6000),
    );
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const clients = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const client = await WireClient.open(url, KEY);
        client.sendJson({ type: "config", config: { model: "tiny-en" } });
        await client.waitFor((m) => m.type === "session_started");
        return client;
      }),
    );
    for (const client of clients) client.sendBinary(bytes);
    // close_stream decodes what is left of a stream on its own, so let the steps take it first.
    const spoken = (client: WireClient) => client.finals().filter((f) => String(f.text) !== "").length;
    await Promise.all(clients.map((client) => client.waitFor(() => spoken(client) >= 2, 20_000, "two finals")));
    for (const client of clients) client.sendJson({ type: "close_stream" });
    await Promise.all(clients.map((client) => client.waitFor((m) => m.type === "stream_closed")));
    for (const client of clients) {
      const finals = client.finals().filter((f) => String(f.text) !== "");
      assert.equal(finals.length, 2, JSON.stringify(finals.map((f) => [f.text, f.start_ms, f.end_ms])));
      for (const final of finals) assert.match(String(final.text), /^A+$/);
      assert.ok(Number(finals[1]?.start_ms) >= 1700, "the second utterance starts after the first pause");
    }
    const after = engine.batchStats;
    assert.ok(after.maxBatch > 1, `largest batch ${after.maxBatch}`);
    assert.ok(
      after.streamsDecoded - before.streamsDecoded > after.batches - before.batches,
      "some batches held several streams",
    );
  });

  it("an unknown model is a config error", async () => {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config: { model: "zipformer-zh" } });
    await client.waitForError("unsupported_model");
    client.ws.close();
  });
});
