/**
 * The Silero VAD gate on real speech: only speech (plus pre-roll) reaches the decoder, times stay
 * stream-absolute, utterances end at pauses with speech finals and endpoints, batching does not
 * change the model's output, and a missing or corrupt model is a clear error.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import {
  type Engine,
  type EngineEvent,
  type EngineStream,
  EngineUnavailableError,
  type StreamOptions,
  TestEngine,
} from "@earshot/engines";
import { SileroVad, VadGatedEngine } from "@earshot/vad";
import { speechStream } from "./helpers/speech.js";

const CLIPS = ["ls-1089-134691-0000", "ps-cards-001"];
const PAUSE_MS = 2_000;
const OPTIONS: StreamOptions = { language: "en", model: "test", wordTimestamps: true };

/** A TestEngine that counts the samples its streams are given. */
class CountingEngine extends TestEngine {
  pushed = 0;
  override async openStream(options: StreamOptions): Promise<EngineStream> {
    const stream = await super.openStream(options);
    const push = stream.push.bind(stream);
    stream.push = (pcm: Int16Array) => {
      this.pushed += pcm.length;
      push(pcm);
    };
    return stream;
  }
}

async function transcribe(engine: Engine, pcm: Int16Array, options: StreamOptions = OPTIONS): Promise<EngineEvent[]> {
  const stream = await engine.openStream(options);
  const events: EngineEvent[] = [];
  const reading = (async () => {
    for await (const event of stream) events.push(event);
  })();
  for (let at = 0; at < pcm.length; at += 1_600) stream.push(pcm.subarray(at, at + 1_600));
  await stream.end();
  await reading;
  return events;
}

const finals = (events: EngineEvent[]) => events.flatMap((e) => (e.type === "final" && e.text !== "" ? [e] : []));

test("the Silero model hears speech in speech and not in silence; batching gives the same probabilities", async () => {
  const vad = await SileroVad.load();
  try {
    const pcm = speechStream(["ls-1089-134691-0000"], 1_000);
    const alone: number[] = [];
    const one = vad.createDetector((p) => alone.push(p));
    one.push(pcm);
    await one.idle();
    // Three streams at once share batches; each must see exactly what a lone stream sees.
    const batched: number[][] = [[], [], []];
    const detectors = batched.map((out) => vad.createDetector((p) => out.push(p)));
    for (let at = 0; at < pcm.length; at += 1_600) for (const d of detectors) d.push(pcm.subarray(at, at + 1_600));
    await Promise.all(detectors.map((d) => d.idle()));
    for (const out of batched) {
      assert.equal(out.length, alone.length);
      for (const [i, p] of out.entries()) {
        assert.ok(Math.abs(p - (alone[i] ?? 0)) < 1e-4, `window ${i}: ${p} vs ${alone[i]}`);
      }
    }
    const speechWindows = alone.filter((p) => p >= 0.5).length;
    const clipWindows = Math.floor((pcm.length - 16_000) / 512);
    assert.ok(speechWindows > clipWindows * 0.5, `speech in ${speechWindows} of ${clipWindows} clip windows`);
    const tail = alone.slice(-20);
    assert.ok(
      tail.every((p) => p < 0.2),
      `the trailing second of silence scored ${tail.map((p) => p.toFixed(2))}`,
    );
  } finally {
    await vad.close();
  }
});

test("a missing, truncated or corrupt VAD model is an EngineUnavailableError naming the file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "earshot-vad-"));
  try {
    const truncated = join(dir, "truncated.onnx");
    await writeFile(truncated, Buffer.alloc(1_000, 7));
    const corrupt = join(dir, "corrupt.onnx");
    await writeFile(corrupt, Buffer.alloc(2_000_000, 7));
    for (const path of [join(dir, "missing.onnx"), truncated, corrupt]) {
      await assert.rejects(SileroVad.load(path), (error: unknown) => {
        assert.ok(error instanceof EngineUnavailableError, String(error));
        assert.match(error.message, new RegExp(path.replace(/[.]/g, "\\.")));
        return true;
      });
    }
    const engine = new VadGatedEngine(new TestEngine(), { modelPath: join(dir, "missing.onnx") });
    await assert.rejects(engine.load(), EngineUnavailableError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("behind the gate, silence never reaches the decoder and word times stay where they were", async () => {
  const pcm = speechStream(CLIPS, PAUSE_MS);
  const plain = finals(await transcribe(new LoadedTestEngine(), pcm));
  const counting = new CountingEngine();
  const gated = new VadGatedEngine(counting);
  await gated.load();
  try {
    const events = await transcribe(gated, pcm);
    // The TestEngine names words by its own clock and decides on 10 ms frames, whose phase the
    // gate's 32 ms windows shift: the same words, each within two frames of where it was.
    const times = (list: typeof plain) => list.flatMap((f) => f.words.map((w) => [w.startMs, w.endMs] as const));
    const gatedTimes = times(finals(events));
    const plainTimes = times(plain);
    assert.equal(gatedTimes.length, plainTimes.length);
    assert.ok(plainTimes.length > 5);
    gatedTimes.forEach(([start, end], i) => {
      const [plainStart, plainEnd] = plainTimes[i] ?? [Number.NaN, Number.NaN];
      assert.ok(
        Math.abs(start - plainStart) <= 20 && Math.abs(end - plainEnd) <= 20,
        `word ${i}: ${start}-${end} vs ${plainStart}-${plainEnd}`,
      );
    });
    // Two pauses of 2 s: at most the pre-roll and the endpointing of each reach the decoder.
    assert.ok(counting.pushed < pcm.length - 2 * 16 * 1_000, `${counting.pushed} of ${pcm.length} samples decoded`);
    const usage = events.find((e) => e.type === "usage");
    assert.equal(usage?.type === "usage" && usage.audioMs, Math.round(pcm.length / 16));
  } finally {
    await gated.close();
  }
});

test("the gate ends utterances at pauses: a speech final, then an endpoint where the speech ended", async () => {
  const pcm = speechStream(CLIPS, PAUSE_MS);
  const gated = new VadGatedEngine(new PocketSphinxEngine({ workers: 1, endpointing: "external" }), {
    endpointingMs: 250,
  });
  await gated.load();
  try {
    const startSample = 16 * 90_000;
    const events = await transcribe(gated, pcm, { ...OPTIONS, model: "pocketsphinx-en-us", startSample });
    const spoken = finals(events);
    assert.equal(spoken.length, 2, JSON.stringify(spoken.map((f) => f.text)));
    const firstClipEndMs = 90_000 + 2_085;
    for (const [index, final] of spoken.entries()) {
      assert.equal(final.speechFinal, true);
      const next = events[events.indexOf(final) + 1];
      assert.equal(next?.type, "endpoint", `final ${index} is followed by its endpoint`);
      if (next?.type === "endpoint") {
        const lastWordStartMs = final.words.at(-1)?.startMs ?? final.startMs;
        assert.ok(next.atMs >= lastWordStartMs && next.atMs <= final.endMs + 300, `endpoint at ${next.atMs}`);
      }
    }
    assert.match(spoken[0]?.text ?? "", /could wait/);
    assert.ok((spoken[0]?.startMs ?? 0) >= 90_000 && (spoken[0]?.endMs ?? 0) <= firstClipEndMs + 100);
    // The second clip starts right after the pause (within a few frames): with the skipped silence
    // not mapped back it would come about 2 s early.
    const secondStartMs = spoken[1]?.startMs ?? 0;
    assert.ok(Math.abs(secondStartMs - (firstClipEndMs + PAUSE_MS)) < 300, `second utterance at ${secondStartMs}`);
  } finally {
    await gated.close();
  }
});

class LoadedTestEngine extends TestEngine {
  constructor() {
    super();
    void this.load();
  }
}
