import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { type EngineEvent, EngineUnavailableError } from "@earshot/engines";
import { SAMPLE_RATE, SAMPLES_PER_MS } from "@earshot/protocol";
import { loadEvalSet, loadPcm, wer as wordErrorRate } from "@earshot/test-support";

const REFERENCES = new Map(loadEvalSet().map((u) => [u.id, u]));
const STREAM_OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;

function samplesOf(id: string): Int16Array {
  const reference = REFERENCES.get(id);
  assert.ok(reference, `no fixture ${id}`);
  return loadPcm(reference.path);
}

/** Push `samples` in `chunkMs` pieces, yielding to the event loop between pieces, and collect every event. */
async function transcribe(engine: PocketSphinxEngine, samples: Int16Array, chunkMs: number): Promise<EngineEvent[]> {
  const stream = await engine.openStream(STREAM_OPTIONS);
  const events: EngineEvent[] = [];
  const reading = (async () => {
    for await (const event of stream) events.push(event);
  })();
  const step = chunkMs * SAMPLES_PER_MS;
  for (let offset = 0; offset < samples.length; offset += step) {
    stream.push(samples.subarray(offset, offset + step));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await stream.end();
  await reading;
  return events;
}

function finalText(events: readonly EngineEvent[]): string {
  return events.flatMap((event) => (event.type === "final" && event.text !== "" ? [event.text] : [])).join(" ");
}

describe("PocketSphinxEngine load failures", () => {
  test("a missing model file rejects load() with EngineUnavailableError naming it", async () => {
    const engine = new PocketSphinxEngine({ lm: "/nonexistent/en-us.lm.bin", workers: 1 });
    await assert.rejects(engine.load(), (error: unknown) => {
      assert.ok(error instanceof EngineUnavailableError);
      assert.match(error.message, /\/nonexistent\/en-us\.lm\.bin/);
      assert.match(error.message, /pocketsphinx-en-us/);
      return true;
    });
    assert.equal(engine.ready, false);
    await assert.rejects(engine.openStream(STREAM_OPTIONS), EngineUnavailableError);
  });

  test("a missing shared library rejects load() with EngineUnavailableError", async () => {
    const engine = new PocketSphinxEngine({
      workers: 1,
      libraryPaths: { pocketsphinx: "libpocketsphinx-missing.so", sphinxbase: "libsphinxbase-missing.so" },
    });
    await assert.rejects(engine.load(), (error: unknown) => {
      assert.ok(error instanceof EngineUnavailableError);
      assert.match(error.message, /libpocketsphinx3/);
      return true;
    });
    await engine.close();
  });
});

describe("PocketSphinxEngine on real speech", () => {
  const engine = new PocketSphinxEngine({ workers: 2 });
  before(() => engine.load());
  after(() => engine.close());

  test("declares its capabilities", () => {
    assert.equal(engine.ready, true);
    assert.deepEqual(engine.capabilities.languages, ["en"]);
    assert.deepEqual(engine.capabilities.models, ["pocketsphinx-en-us"]);
    assert.equal(engine.capabilities.sampleRate, SAMPLE_RATE);
  });

  test("transcribes with partials first, stream-absolute word times and usage", async () => {
    const ids = ["ls-1089-134691-0000", "ps-goforward", "ps-librivox-0870"];
    const results = await Promise.all(
      ids.map(async (id) => {
        const samples = samplesOf(id);
        return { id, durationMs: samples.length / SAMPLES_PER_MS, events: await transcribe(engine, samples, 100) };
      }),
    );
    for (const { id, durationMs, events } of results) {
      const types = events.map((event) => event.type);
      assert.ok(types.indexOf("partial") >= 0, `${id}: no partial`);
      assert.ok(types.indexOf("partial") < types.indexOf("final"), `${id}: final before any partial`);
      assert.equal(types.at(-1), "usage", `${id}: usage is not last`);
      const usage = events.at(-1);
      assert.ok(usage?.type === "usage");
      assert.ok(Math.abs(usage.audioMs - durationMs) <= 1, `${id}: usage.audioMs ${usage.audioMs}`);
      assert.ok(usage.processingMs > 0);

      let previousEndMs = 0;
      for (const event of events) {
        if (event.type !== "final") continue;
        for (const word of event.words) {
          assert.ok(word.startMs >= previousEndMs, `${id}: ${word.word} starts before the previous word ends`);
          assert.ok(
            word.endMs >= word.startMs && word.endMs <= durationMs,
            `${id}: ${word.word} ends outside the audio`,
          );
          assert.ok(Number.isInteger(word.startMs) && Number.isInteger(word.endMs));
          assert.ok(word.confidence >= 0 && word.confidence <= 1);
          previousEndMs = word.endMs;
        }
      }
    }
    // "he could wait no longer" starts about 0.5 s in (measured: 530 ms).
    const first = results[0]?.events.find((event) => event.type === "final");
    assert.ok(first?.type === "final" && first.words[0]);
    assert.ok(Math.abs(first.words[0].startMs - 530) <= 100, `first word at ${first.words[0].startMs} ms`);

    // Measured 22.6% (7 of 31 words) on these three, 27.5% on all 14 files; decoding is
    // deterministic, the margin is two words for a changed library build.
    const { wer } = wordErrorRate(
      results.map(({ id, events }) => [REFERENCES.get(id)?.text ?? "", finalText(events)] as const),
    );
    assert.ok(wer <= 0.3, `WER ${(wer * 100).toFixed(1)}%`);
  });

  test("the final text does not depend on how the audio is chunked", async () => {
    const samples = samplesOf("ps-librivox-0880");
    const [small, large] = await Promise.all([transcribe(engine, samples, 100), transcribe(engine, samples, 500)]);
    assert.notEqual(finalText(small), "");
    assert.equal(finalText(small), finalText(large));
  });

  test("a pause ends an utterance with a final, then an endpoint", async () => {
    const speech = samplesOf("ps-goforward");
    const padded = new Int16Array(speech.length + 16_000);
    padded.set(speech);
    const events = await transcribe(engine, padded, 100);
    const finalIndex = events.findIndex((event) => event.type === "final");
    const endpoint = events[finalIndex + 1];
    assert.ok(endpoint?.type === "endpoint", "no endpoint after the final");
    const final = events[finalIndex];
    assert.ok(final?.type === "final");
    assert.equal(endpoint.atMs, final.endMs);
  });

  test("a closed stream ignores further calls and frees its decoder for reuse", async () => {
    const stream = await engine.openStream(STREAM_OPTIONS);
    stream.push(new Int16Array(1600));
    stream.close();
    stream.close();
    assert.doesNotThrow(() => {
      stream.push(new Int16Array(1600));
      stream.flush();
    });
    await stream.end();
    const events: EngineEvent[] = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(events, []);
  });
});
