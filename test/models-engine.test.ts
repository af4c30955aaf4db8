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
import { type EngineEvent, ModelInvalidError, preflightModel, SherpaOnnxEngine } from "@earshot/engines";
import { concatPcm, noisePcm, writeTinyTransducer } from "@earshot/engines/testing/tiny-transducer";
import { ArchiveServer } from "./helpers/archive-server.js";
import { runEarshot } from "./helpers/run-cli.js";

const TOP = "sherpa-onnx-streaming-tiny-transducer-2026-01-01";

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

  after(() => server.close());

  it("the pulled model passes preflight by its manifest and streams under its catalogue name", async () => {
    const pulled = await runEarshot(["models", "pull", "tiny-pulled"], env);
    assert.equal(pulled.code, 0, pulled.stderr);
    const spec = await preflightModel(dir);
    assert.equal(spec.name, "tiny-pulled", "the spec comes from earshot-model.json, not from the directory");

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
