/**
 * The sherpa-onnx preflight refuses every fatal model defect of the research notes (C.1) with
 * `model_invalid` naming the file and the defect, in plain TypeScript: no native library is loaded
 * into this process (a load would abort it), which the last test checks.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { inferModelSpec, MODEL_MANIFEST_FILE, ModelInvalidError, preflightModel } from "@earshot/engine-sherpa";
import { writeTinyTransducer } from "@earshot/engine-sherpa/testing/tiny-transducer";
import { junkBytes, TINY_TRANSDUCER_DEFECTS } from "@earshot/engine-sherpa/testing/tiny-transducer-defects";

const root = await mkdtemp(join(tmpdir(), "earshot-preflight-"));
after(() => rm(root, { recursive: true, force: true }));

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

describe("sherpa-onnx preflight", () => {
  test("the tiny transducer passes, and its spec is inferred from the files alone", async () => {
    const dir = join(root, "valid");
    const written = await writeTinyTransducer(dir);
    const spec = await preflightModel(dir, { decodingMethod: "greedy_search" });
    assert.equal(spec.name, "valid");
    assert.equal(spec.modelType, "lstm");
    assert.deepEqual(spec.files, written.files);
    assert.deepEqual(await inferModelSpec(dir), spec);
  });

  for (const [name, defect] of Object.entries(TINY_TRANSDUCER_DEFECTS)) {
    test(`refuses: ${name}`, async () => {
      const dir = join(root, name.replaceAll(" ", "-"));
      await defect.write(dir);
      await assert.rejects(preflightModel(dir), (error: unknown) => {
        assert.ok(error instanceof ModelInvalidError, String(error));
        assert.equal(error.code, "model_invalid");
        assert.match(error.message, defect.expect);
        assert.match(error.message, new RegExp(dir.replaceAll("-", "\\-")));
        return true;
      });
    });
  }

  test("an unknown decoding method is refused before any load", async () => {
    const dir = join(root, "method");
    await writeTinyTransducer(dir);
    await assert.rejects(preflightModel(dir, { decodingMethod: "beam_search" }), /decoding method "beam_search"/);
  });

  test("with a manifest: the spec comes from it and a sha256 mismatch is refused", async () => {
    const dir = join(root, "manifest");
    const spec = await writeTinyTransducer(dir, { name: "tiny-zh", languages: ["zh"] });
    const hashes: Record<string, string> = {};
    for (const file of Object.values(spec.files)) hashes[file] = await sha256(join(dir, file));
    const manifest = { spec, sha256: hashes, source: "local", installedAt: new Date(0).toISOString() };
    await writeFile(join(dir, MODEL_MANIFEST_FILE), JSON.stringify(manifest));
    assert.deepEqual((await preflightModel(dir)).languages, ["zh"]);

    await writeFile(join(dir, "joiner.onnx"), junkBytes(400));
    await assert.rejects(preflightModel(dir), /joiner\.onnx has sha256 [0-9a-f]{64}, but earshot-model\.json says/);
  });

  test("a manifest path outside the model directory is refused", async () => {
    const dir = join(root, "escape");
    const spec = await writeTinyTransducer(dir);
    const manifest = { spec: { ...spec, files: { ...spec.files, tokens: "../../etc/passwd" } }, sha256: {} };
    await writeFile(join(dir, MODEL_MANIFEST_FILE), JSON.stringify(manifest));
    await assert.rejects(preflightModel(dir), /spec\.files\.tokens/);
  });

  test("no native sherpa-onnx code was loaded into this process", () => {
    const loaded = process.report.getReport() as { sharedObjects?: string[] };
    assert.ok(Array.isArray(loaded.sharedObjects));
    assert.ok(!loaded.sharedObjects.some((path) => path.includes("sherpa-onnx")), "sherpa-onnx was loaded");
  });
});
