/**
 * Native failures stay in child processes: a model that passes the preflight by construction but
 * aborts onnxruntime is caught by the canary load, and a host process killed mid-stream fails only
 * its streams, after which the engine serves new streams from a fresh host. This test process
 * survives both (it would not, had either happened in it).
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ModelInvalidError, preflightModel, SherpaOnnxEngine } from "@earshot/engine-sherpa";
import { noisePcm, writeTinyTransducer } from "@earshot/engine-sherpa/testing/tiny-transducer";
import { writeCorruptGraphModel } from "@earshot/engine-sherpa/testing/tiny-transducer-defects";
import { type EngineEvent, EngineUnavailableError } from "@earshot/engines";

const root = await mkdtemp(join(tmpdir(), "earshot-sherpa-isolation-"));
after(() => rm(root, { recursive: true, force: true }));
const OPTIONS = { language: "en", model: "tiny-transducer", wordTimestamps: true } as const;

test("bytes that parse as ONNX and match the manifest's sha256 are caught by the canary load", async () => {
  const dir = join(root, "parses");
  await writeCorruptGraphModel(dir);
  await preflightModel(dir); // passes

  const engine = new SherpaOnnxEngine({ models: [dir] });
  await assert.rejects(engine.load(), (error: unknown) => {
    assert.ok(error instanceof ModelInvalidError, String(error));
    assert.equal(error.code, "model_invalid");
    assert.match(error.message, /failed its trial load: crashed \((signal SIG[A-Z]+|exit code \d+)\)/);
    assert.ok((error.detail ?? "").length > 0, "the child's stderr is the detail");
    return true;
  });
  assert.equal(engine.ready, false);
  await engine.close();
});

test("a host killed mid-stream fails its streams; new streams get a fresh host", async () => {
  const dir = join(root, "valid");
  const spec = await writeTinyTransducer(dir);
  const engine = new SherpaOnnxEngine({ models: [{ dir, spec }], endpointingMs: 400 });
  try {
    await engine.load();
    const [pid] = engine.hostPids;
    assert.ok(pid);
    const streams = await Promise.all([0, 1].map(() => engine.openStream(OPTIONS)));
    const events = streams.map((stream) => {
      const seen: EngineEvent[] = [];
      const done = (async () => {
        for await (const event of stream) seen.push(event);
      })();
      return { seen, done };
    });
    for (const stream of streams) stream.push(noisePcm(1000, 0.5));
    // Partials show the host is mid-stream before it dies.
    const deadline = Date.now() + 5000;
    while (!events.every(({ seen }) => seen.some((e) => e.type === "partial"))) {
      assert.ok(Date.now() < deadline, "no partials");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.kill(pid, "SIGKILL");
    for (const { seen, done } of events) {
      await done;
      const last = seen.at(-1);
      assert.ok(last?.type === "error" && last.error instanceof EngineUnavailableError, JSON.stringify(last));
      assert.match(last.error.message, /crashed \(signal SIGKILL\)/);
    }
    assert.doesNotThrow(() => streams[0]?.push(new Int16Array(160)));
    await streams[0]?.end();

    const next = await engine.openStream(OPTIONS);
    const seen: EngineEvent[] = [];
    const done = (async () => {
      for await (const event of next) seen.push(event);
    })();
    next.push(noisePcm(1000, 0.5));
    await next.end();
    await done;
    const final = seen.find((e) => e.type === "final");
    assert.match(final?.type === "final" ? final.text : "", /^A+$/);
    assert.notEqual(engine.hostPids[0], pid);
  } finally {
    await engine.close();
  }
});
