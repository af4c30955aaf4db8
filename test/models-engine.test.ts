/**
 * The contract between `earshot models` and the sherpa-onnx engine, end to end: the tiny
 * transducer (generated at test time) packed as a release-style archive, pulled from a loopback
 * server by the CLI, passes the engine's preflight by its manifest, streams through the real
 * engine under its catalogue name, and a file changed after the pull is refused by name.
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { concatPcm, writeWav } from "@earshot/audio";
import { ModelInvalidError, preflightModel, SherpaOnnxEngine } from "@earshot/engine-sherpa";
import { noisePcm, writeTinyTransducer } from "@earshot/engine-sherpa/testing/tiny-transducer";
import type { EngineEvent } from "@earshot/engines";
import { ArchiveServer } from "./helpers/archive-server.js";
import { runEarshot } from "./helpers/run-cli.js";
import { kill9, killAllServers, serveEngine } from "./helpers/serve-process.js";
import { toBytes } from "./helpers/signals.js";
import { WireClient } from "./helpers/ws-client.js";

const TOP = "sherpa-onnx-streaming-tiny-transducer-2026-01-01";
const KEY = "models-engine-key";

describe("earshot models pull → sherpa-onnx engine", () => {
  const server = new ArchiveServer();
  let work: string;
  let env: NodeJS.ProcessEnv;
  let dir: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "earshot-models-engine-"));
    await writeTinyTransducer(join(work, "staging", TOP));
    const archivePath = join(work, `${TOP}.tar.bz2`);
    execFileSync("tar", ["-cjf", archivePath, "-C", join(work, "staging"), TOP]);
    const archive = readFileSync(archivePath);
    server.serve(`${TOP}.tar.bz2`, archive);
    const catalog = join(work, "catalog.json");
    const entry = {
      name: "tiny-pulled",
      archive: TOP,
      languages: ["en"],
      modelType: "lstm",
      modelingUnit: "cjkchar",
      files: { encoder: "encoder.onnx", decoder: "decoder.onnx", joiner: "joiner.onnx", tokens: "tokens.txt" },
      archiveSha256: createHash("sha256").update(archive).digest("hex"),
    };
    writeFileSync(catalog, JSON.stringify([entry]));
    env = {
      EARSHOT_MODELS_DIR: join(work, "models"),
      EARSHOT_MODELS_CATALOG: catalog,
      EARSHOT_MODELS_BASE_URL: await server.listen(),
    };
    dir = join(work, "models", "tiny-pulled");
  });

  after(() => {
    killAllServers();
    return server.close();
  });

  it("the pulled model passes preflight by its manifest and streams under its catalogue name", async () => {
    const pulled = await runEarshot(["models", "pull", "tiny-pulled"], env);
    assert.equal(pulled.code, 0, pulled.stderr);
    const spec = await preflightModel(dir);
    assert.equal(spec.name, "tiny-pulled", "the spec comes from earshot-model.json, not from the directory");
    const verified = await runEarshot(["models", "verify", "tiny-pulled"], env);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /tiny-pulled loads: preflight and trial load in a child process passed/);

    const engine = new SherpaOnnxEngine({ models: [dir] });
    try {
      await engine.load();
      assert.deepEqual(engine.capabilities.models, ["tiny-pulled"]);
      const stream = await engine.openStream({ language: "en", model: "tiny-pulled", wordTimestamps: false });
      const events: EngineEvent[] = [];
      const collected = (async () => {
        for await (const event of stream) events.push(event);
      })();
      stream.push(concatPcm(noisePcm(1000, 0.5), new Int16Array(16 * 800)));
      await stream.end();
      await collected;
      const text = events.flatMap((event) => (event.type === "final" ? [event.text] : [])).join("");
      assert.match(text, /^A{10,}$/);
    } finally {
      await engine.close();
    }
  });

  it("earshot serve --engine pocketsphinx,sherpa-onnx serves the pulled model by name beside PocketSphinx", {
    timeout: 60_000,
  }, async () => {
    const served = await serveEngine("pocketsphinx,sherpa-onnx", 0, KEY, { env, args: ["--no-demo"] });
    try {
      const neural = await WireClient.open(served.url, KEY);
      neural.sendJson({ type: "config", config: { model: "tiny-pulled" } });
      await neural.waitFor((m) => m.type === "session_started");
      neural.sendBinary(toBytes(concatPcm(noisePcm(1000, 0.5), new Int16Array(16 * 800))));
      neural.sendJson({ type: "close_stream" });
      await neural.waitFor((m) => m.type === "stream_closed");
      assert.match(
        neural
          .finals()
          .map((f) => String(f.text))
          .join(""),
        /^A{10,}$/,
      );
      // The CLI client picks the model by name.
      const wav = join(work, "noise.wav");
      writeFileSync(wav, writeWav(16_000, [concatPcm(noisePcm(1000, 0.5), new Int16Array(16 * 800))]));
      const cli = await runEarshot([
        "transcribe",
        wav,
        "--url",
        served.url,
        "--api-key",
        KEY,
        "--model",
        "tiny-pulled",
      ]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout.trim(), /^a{10,}$/i);
      // The default model for English is the first engine's: PocketSphinx.
      const english = await WireClient.open(served.url, KEY);
      english.sendJson({ type: "config", config: { language: "en" } });
      const started = await english.waitFor((m) => m.type === "session_started");
      assert.equal((started.config as { model: string }).model, "pocketsphinx-en-us");
      english.ws.close();
    } finally {
      await kill9(served);
    }
  });

  it("earshot serve --engine sherpa-onnx names what to pull when a model is missing", async () => {
    const missing = await runEarshot(["serve", "--engine", "sherpa-onnx", "--model", "not-pulled"], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /model "not-pulled" is not installed in .*earshot models pull not-pulled/);
    const empty = await runEarshot(["serve", "--engine", "sherpa-onnx"], {
      ...env,
      EARSHOT_MODELS_DIR: join(work, "empty"),
    });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no sherpa-onnx model is installed in .*earshot models pull zipformer-en-2023-06-26/);
  });

  it("a file changed after the pull fails verify and the engine's preflight, both naming it", async () => {
    const joiner = join(dir, "joiner.onnx");
    const bytes = readFileSync(joiner);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
    writeFileSync(joiner, bytes);
    const verified = await runEarshot(["models", "verify", "tiny-pulled"], env);
    assert.equal(verified.code, 1);
    assert.match(verified.stdout, /^sha256_differs +joiner\.onnx/m);
    await assert.rejects(
      preflightModel(dir),
      (error: unknown) => error instanceof ModelInvalidError && /joiner\.onnx.*sha256/.test(error.message),
    );
  });
});
