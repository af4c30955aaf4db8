/**
 * Issue 7's isolation proof: one `earshot` server runs PocketSphinx beside sherpa-onnx models built
 * from the tiny transducer fixture, one of them healthy and one per fatal defect of the research
 * notes (C.1), plus one that only the canary load catches. Every defective model yields
 * `model_invalid` naming its defect, the healthy one serves, and its host is killed mid-stream,
 * while a PocketSphinx stream of real speech keeps going and transcribes as it would alone.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { concatPcm } from "@earshot/audio";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { SherpaOnnxEngine } from "@earshot/engine-sherpa";
import { noisePcm, writeTinyTransducer } from "@earshot/engine-sherpa/testing/tiny-transducer";
import {
  TINY_TRANSDUCER_DEFECTS,
  writeCorruptGraphModel,
} from "@earshot/engine-sherpa/testing/tiny-transducer-defects";
import { EngineRouter } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { loadEvalSet, wer } from "@earshot/test-support";
import { VadGatedEngine } from "@earshot/vad";
import { toBytes } from "./helpers/signals.js";
import { speechStream } from "./helpers/speech.js";
import { WireClient } from "./helpers/ws-client.js";

const KEY = "mixed-key";
const IDS = ["ps-goforward", "ls-1089-134691-0000", "ps-librivox-0880"];
const SPEED = 3;

/** Directory names are the model names (no manifest), so `bad-<defect>` is what a client asks for. */
const slug = (defect: string) => `bad-${defect.replaceAll(/[^a-z0-9]+/g, "-")}`;

describe("PocketSphinx beside broken and healthy sherpa-onnx models", () => {
  let root: string;
  let server: EarshotServer;
  let url: string;
  let healthy: SherpaOnnxEngine;

  before(
    async () => {
      root = await mkdtemp(join(tmpdir(), "earshot-mixed-"));
      const good = join(root, "tiny-en");
      await writeTinyTransducer(good);
      for (const [defect, { write }] of Object.entries(TINY_TRANSDUCER_DEFECTS)) await write(join(root, slug(defect)));
      await writeCorruptGraphModel(join(root, "bad-graph"));
      healthy = new SherpaOnnxEngine({ models: [good], endpointingMs: 400 });
      const defective = [...Object.keys(TINY_TRANSDUCER_DEFECTS).map(slug), "bad-graph"].map(
        (name) => new SherpaOnnxEngine({ models: [join(root, name)] }),
      );
      const pocketsphinx = new VadGatedEngine(new PocketSphinxEngine({ decoderArgs: FAST_DECODER_ARGS }));
      server = createServer({ engine: new EngineRouter([pocketsphinx, healthy, ...defective]), apiKeys: [KEY] });
      ({ url } = await server.listen({ port: 0 }));
      await server.ready;
    },
    { timeout: 120_000 },
  );

  after(
    async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
    { timeout: 30_000 },
  );

  async function open(config: object): Promise<WireClient> {
    const client = await WireClient.open(url, KEY);
    client.sendJson({ type: "config", config });
    await client.waitFor((m) => m.type === "session_started" || m.type === "error");
    return client;
  }

  it("every defect is model_invalid with its reason, the healthy model and a host crash aside, while PocketSphinx streams", {
    timeout: 120_000,
  }, async () => {
    const speech = speechStream(IDS, 800);
    const live = await open({ language: "en" });
    assert.equal(live.messages[0]?.type, "session_started");
    const sending = (async () => {
      for (let at = 0; at < speech.length; at += 1600) {
        live.sendBinary(toBytes(speech.subarray(at, at + 1600)));
        await new Promise((resolve) => setTimeout(resolve, 100 / SPEED));
      }
    })();

    for (const [defect, { expect }] of Object.entries(TINY_TRANSDUCER_DEFECTS)) {
      const client = await open({ model: slug(defect) });
      const error = await client.waitFor((m) => m.type === "error");
      assert.equal(error.code, "model_invalid", `${defect}: ${JSON.stringify(error)}`);
      assert.match(String(error.message), expect, defect);
      client.ws.close();
    }
    const canaryCaught = await open({ model: "bad-graph" });
    const canaryError = await canaryCaught.waitFor((m) => m.type === "error");
    assert.equal(canaryError.code, "model_invalid");
    assert.match(String(canaryError.message), /failed its trial load: crashed/);

    // The healthy model serves; then its host dies mid-stream (a native abort would look the same).
    const tiny = await open({ model: "tiny-en" });
    tiny.sendBinary(toBytes(concatPcm(new Int16Array(8000), noisePcm(1000, 0.5), new Int16Array(16_000))));
    await tiny.waitFor((m) => m.type === "transcript" && m.is_final === true, 20_000, "a final from tiny-en");
    assert.match(String(tiny.finals()[0]?.text), /^A+$/);
    const [pid] = healthy.hostPids;
    assert.ok(pid);
    tiny.sendBinary(toBytes(noisePcm(500, 0.5)));
    process.kill(pid, "SIGKILL");
    const crash = await tiny.waitFor((m) => m.type === "error", 20_000, "the crash error");
    assert.equal(crash.code, "engine_unavailable");
    const again = await open({ model: "tiny-en" });
    assert.equal(
      again.messages.find((m) => m.type !== "ack")?.type,
      "session_started",
      "a fresh host serves the next stream",
    );
    again.ws.close();

    await sending;
    live.sendJson({ type: "close_stream" });
    await live.waitFor((m) => m.type === "stream_closed", 60_000, "stream_closed");
    assert.ok(
      live.messages.every((m) => m.type !== "error"),
      JSON.stringify(live.messages.filter((m) => m.type === "error")),
    );
    const set = loadEvalSet();
    const reference = IDS.map((id) => set.find((u) => u.id === id)?.text ?? "").join(" ");
    const hypothesis = live
      .finals()
      .map((f) => String(f.text))
      .join(" ");
    const result = wer([[reference, hypothesis]]);
    // PocketSphinx alone scores 20–35% on these; a stalled or cut stream would lose whole utterances.
    assert.ok(result.wer < 0.45, `WER ${result.wer}: ${hypothesis}`);
  });
});
