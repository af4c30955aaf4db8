/**
 * Files (`StreamOptions.batch`) take turns after live streams: however many are being transcribed,
 * together they get one turn per round while a live stream has audio queued (round-order.ts), where
 * live streams each take a turn every round. So while a live stream catches up, files decode a third
 * as much audio as three live streams would.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { EngineStream } from "@earshot/engines";
import { loadClip } from "./clips.test.helper.js";
import { PocketSphinxEngine } from "./engine.js";

const OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;
const PUSH = 1_600;

function pushAll(stream: EngineStream, pcm: Int16Array): void {
  for (let at = 0; at < pcm.length; at += PUSH) stream.push(pcm.subarray(at, at + PUSH));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds of the three files' audio decoded by the time the live stream's 4 s were. */
async function filesDecodedWithLive(engine: PocketSphinxEngine, batch: boolean): Promise<number> {
  const live = await engine.openStream(OPTIONS);
  const files = await Promise.all([1, 2, 3].map(() => engine.openStream({ ...OPTIONS, batch })));
  const speech = loadClip("ls-1089-134686-0000");
  // The live audio goes first, so the files never run ahead of it for want of live work.
  pushAll(live, speech.subarray(0, 64_000));
  for (const file of files) pushAll(file, speech.subarray(0, 128_000));
  // backlogMs follows the process's `consumed` messages: wait for the live stream's to reach 0.
  while (live.backlogMs > 0) await sleep(2);
  const decoded = files.reduce((ms, file) => ms + (8_000 - file.backlogMs), 0);
  for (const stream of [live, ...files]) stream.close();
  return decoded;
}

test("while a live stream decodes 4 s, three files decode about 4 s together, not 4 s each", async (t) => {
  const engine = new PocketSphinxEngine({ workers: 1, decoders: 4 });
  try {
    await engine.load();
    const asLive = await filesDecodedWithLive(engine, false);
    const asFiles = await filesDecodedWithLive(engine, true);
    // As live streams the three take three turns a round (about 12 s); as files, one together (4 s).
    assert.ok(asFiles < asLive / 2, `decoded with the live 4 s: ${asFiles} ms as files, ${asLive} ms as live`);
    t.diagnostic(`decoded with the live 4 s: ${asFiles} ms as files, ${asLive} ms as live`);
  } finally {
    await engine.close();
  }
});
