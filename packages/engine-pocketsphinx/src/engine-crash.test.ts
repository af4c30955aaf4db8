/**
 * A decoding process that dies mid-stream, the way a heap corruption in libpocketsphinx ends one
 * (glibc's SIGABRT), takes only its own streams down: each gets an EngineUnavailableError event
 * naming the signal, the engine starts a replacement process, and this process lives on. And no
 * decoding process outlives the server that started it.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { type EngineEvent, EngineUnavailableError } from "@earshot/engines";
import { PocketSphinxEngine } from "./engine.js";

const OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;

/** A tone the decoder takes for speech: it keeps the decoder busy and yields partials. */
function tone(samples: number): Int16Array {
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / 16_000));
  return pcm;
}

// SIGABRT: glibc's answer to a corrupted heap; SIGSEGV: a wild pointer.
for (const signal of ["SIGABRT", "SIGSEGV"] as const) {
  test(`a decoding process killed with ${signal} mid-stream fails its streams and is replaced`, async () => {
    const engine = new PocketSphinxEngine({ workers: 1 });
    try {
      await engine.load();
      const [first] = engine.processes;
      assert.ok(first);
      const stream = await engine.openStream(OPTIONS);
      const events: EngineEvent[] = [];
      const reading = (async () => {
        for await (const event of stream) events.push(event);
      })();
      assert.deepEqual(engine.processes, [{ pid: first.pid, streams: 1 }]);
      // Ten seconds at once: the process is decoding when the signal comes.
      stream.push(tone(160_000));
      await new Promise((resolve) => setTimeout(resolve, 300));
      process.kill(first.pid, signal);
      await reading;
      const last = events.at(-1);
      assert.ok(last?.type === "error" && last.error instanceof EngineUnavailableError, JSON.stringify(last));
      assert.match(last.error.message, new RegExp(`pocketsphinx decoding process crashed \\(signal ${signal}\\)`));
      assert.doesNotThrow(() => stream.push(new Int16Array(160)));
      await stream.end();

      // The replacement starts in the background; a stream opens on it once it is up.
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          const next = await engine.openStream({ ...OPTIONS, wordTimestamps: false });
          next.close();
          break;
        } catch (error) {
          assert.ok(error instanceof EngineUnavailableError);
          assert.ok(Date.now() < deadline, "no replacement process");
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      const [replacement] = engine.processes;
      assert.ok(replacement && replacement.pid !== first.pid);
    } finally {
      await engine.close();
    }
  });
}

test("decoding processes exit when the server process dies without closing the engine", async () => {
  const engineUrl = new URL("./engine.js", import.meta.url).href;
  const script = `
    const { PocketSphinxEngine } = await import(${JSON.stringify(engineUrl)});
    const engine = new PocketSphinxEngine({ workers: 2 });
    await engine.load();
    console.log(JSON.stringify(engine.processes.map((p) => p.pid)));
    setInterval(() => {}, 1000);
  `;
  const server = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(server.stdout, "data")) as [Buffer];
  const pids = JSON.parse(String(line)) as number[];
  assert.equal(pids.length, 2);
  server.kill("SIGKILL");
  await once(server, "exit");
  const deadline = Date.now() + 10_000;
  while (pids.some((pid) => existsSync(`/proc/${pid}`))) {
    assert.ok(Date.now() < deadline, `still running: ${pids.filter((pid) => existsSync(`/proc/${pid}`))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
