/**
 * A decoding process that dies mid-stream, the way a heap corruption in libpocketsphinx ends one
 * (glibc's SIGABRT) or a wild pointer does (SIGSEGV), costs no stream: the engine starts a
 * replacement, each stream continues there from its last checkpoint with the audio after it, and
 * its transcript is the uninterrupted run's, word for word and time for time. A stream whose audio
 * keeps crashing decoders fails after `MAX_RECOVERIES`. And no decoding process outlives the server
 * that started it.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { type EngineEvent, type EngineStream, EngineUnavailableError } from "@earshot/engines";
import { loadClip } from "./clips.test.helper.js";
import { PocketSphinxEngine } from "./engine.js";
import { MAX_RECOVERIES } from "./engine-stream.js";

const OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;
const CLIPS = ["ps-goforward", "ps-cards-005", "ls-1089-134691-0000"];
const SILENCE = new Int16Array(9_600);

/** A tone the decoder takes for speech: it keeps the decoder busy. */
function tone(samples: number): Int16Array {
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / 16_000));
  return pcm;
}

/**
 * The clips with 600 ms of silence after each, in 100 ms pushes, and a flush with a pause after each
 * clip (as the VAD gate does); `during(finals)` runs after each push with the finals so far.
 */
async function run(engine: PocketSphinxEngine, during?: (finals: number) => Promise<void>): Promise<EngineEvent[]> {
  const stream: EngineStream = await engine.openStream(OPTIONS);
  const events: EngineEvent[] = [];
  const reading = (async () => {
    for await (const event of stream) events.push(event);
  })();
  let sample = 0;
  for (const id of CLIPS) {
    const audio = [loadClip(id), SILENCE];
    for (const part of audio) {
      for (let at = 0; at < part.length; at += 1_600) {
        stream.push(part.subarray(at, at + 1_600));
        // About 6× real time: events come back while the audio is still going out.
        await new Promise((resolve) => setTimeout(resolve, 15));
        await during?.(events.filter((event) => event.type === "final").length);
      }
      sample += part.length;
    }
    stream.flush({ atMs: Math.round(sample / 16) - 400 });
  }
  await stream.end();
  await reading;
  return events;
}

/** Finals (words and times; confidences are lattice posteriors, which differ by decoder), endpoints, errors. */
const transcript = (events: EngineEvent[]): unknown[] =>
  events.flatMap((event): unknown[] => {
    if (event.type === "final") {
      return [{ ...event, words: event.words.map(({ confidence: _, ...word }) => word) }];
    }
    return event.type === "endpoint" || event.type === "error" ? [event] : [];
  });

for (const signal of ["SIGABRT", "SIGSEGV"] as const) {
  test(`a decoding process killed with ${signal} mid-stream: the stream continues on its replacement, transcript unchanged`, async () => {
    const engine = new PocketSphinxEngine({ workers: 1, decoders: 1 });
    try {
      await engine.load();
      const reference = transcript(await run(engine));
      const finals = reference.filter((event) => (event as EngineEvent).type === "final");
      assert.ok(finals.length >= 3, JSON.stringify(reference));

      const [first] = engine.processes;
      assert.ok(first);
      let killed = false;
      const events = await run(engine, async (finals) => {
        // After the first utterance's final: the stream has a checkpoint and audio past it.
        if (killed || finals < 1) return;
        killed = true;
        process.kill(first.pid, signal);
        await new Promise((resolve) => setTimeout(resolve, 50));
      });
      assert.ok(killed, "the process was never killed");
      assert.deepEqual(transcript(events), reference);
      const [replacement] = engine.processes;
      assert.ok(replacement && replacement.pid !== first.pid);
      // The dead process had a decoder lent to the stream: gone with it. The counters keep its
      // decoders (made at its start-up), the replacement's pool has its own, and none is lent.
      // The pool's counts arrive a moment after the stream's end.
      for (const deadline = Date.now() + 5_000; engine.decoderPool.lent > 0 && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const pool = engine.decoderPool;
      assert.ok(pool.created.startup >= 2, `decoders made at start-up: ${pool.created.startup}`);
      assert.equal(pool.lent, 0);
      assert.ok(pool.size >= 1);
    } finally {
      await engine.close();
    }
  });
}

test(`a stream that crashes its decoders ${MAX_RECOVERIES + 1} times from one checkpoint fails with engine_unavailable`, async () => {
  const engine = new PocketSphinxEngine({ workers: 1, decoders: 1 });
  try {
    await engine.load();
    const stream = await engine.openStream(OPTIONS);
    const events: EngineEvent[] = [];
    const reading = (async () => {
      for await (const event of stream) events.push(event);
    })();
    // Ten seconds of "speech" and no flush: every replacement replays it from the start.
    stream.push(tone(160_000));
    const killed = new Set<number>();
    const deadline = Date.now() + 60_000;
    while (killed.size <= MAX_RECOVERIES) {
      assert.ok(Date.now() < deadline, `only ${killed.size} processes got the stream`);
      const current = engine.processes.find((p) => p.streams === 1 && !killed.has(p.pid));
      if (current) {
        killed.add(current.pid);
        process.kill(current.pid, "SIGABRT");
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await reading;
    const last = events.at(-1);
    assert.ok(last?.type === "error" && last.error instanceof EngineUnavailableError, JSON.stringify(last));
    assert.match(last.error.message, /pocketsphinx decoding process crashed \(signal SIGABRT\)/);
    assert.doesNotThrow(() => stream.push(new Int16Array(160)));
    await stream.end();
  } finally {
    await engine.close();
  }
});

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
