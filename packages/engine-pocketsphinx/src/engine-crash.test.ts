/**
 * A decoding worker that dies takes only its own streams down: each gets an EngineUnavailableError
 * event, and the engine starts a replacement. The test reaches the worker threads by wrapping
 * `Worker` before the engine module is loaded.
 */

import assert from "node:assert/strict";
import { syncBuiltinESMExports } from "node:module";
import { test } from "node:test";
import workerThreads from "node:worker_threads";
import { type EngineEvent, EngineUnavailableError } from "@earshot/engines";

const started: workerThreads.Worker[] = [];
const OriginalWorker = workerThreads.Worker;
workerThreads.Worker = class extends OriginalWorker {
  constructor(...args: ConstructorParameters<typeof OriginalWorker>) {
    super(...args);
    started.push(this);
  }
};
syncBuiltinESMExports();
const { PocketSphinxEngine } = await import("./engine.js");

test("a crashed worker fails its streams with EngineUnavailableError and is replaced", async () => {
  const engine = new PocketSphinxEngine({ workers: 1 });
  try {
    await engine.load();
    const stream = await engine.openStream({ language: "en", model: "pocketsphinx-en-us", wordTimestamps: true });
    const events: EngineEvent[] = [];
    const reading = (async () => {
      for await (const event of stream) events.push(event);
    })();
    stream.push(new Int16Array(16_000));
    // Kill the thread while it idles (it warms a spare decoder for about a second after the open):
    // terminating it inside a native call would abort the process, which is why the engine itself
    // never terminates workers.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await started[0]?.terminate();
    await reading;
    assert.equal(events.at(-1)?.type, "error");
    const last = events.at(-1);
    assert.ok(last?.type === "error" && last.error instanceof EngineUnavailableError);
    assert.doesNotThrow(() => stream.push(new Int16Array(160)));
    await stream.end();

    // The replacement starts in the background; a stream opens on it once it is up.
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const next = await engine.openStream({ language: "en", model: "pocketsphinx-en-us", wordTimestamps: false });
        next.close();
        break;
      } catch (error) {
        assert.ok(error instanceof EngineUnavailableError);
        assert.ok(Date.now() < deadline, "no replacement worker");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.equal(started.length, 2);
  } finally {
    workerThreads.Worker = OriginalWorker;
    syncBuiltinESMExports();
    await engine.close();
  }
});
