/**
 * The real sherpa-onnx engine (native addon in real child processes) on the tiny transducer
 * generated at test time: partials and finals, endpoints, reset between utterances, batching,
 * Float32 conversion, stream-absolute word times, key terms.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { concatPcm } from "@earshot/audio";
import { KeytermsUnsupportedError, SherpaOnnxEngine } from "@earshot/engine-sherpa";
import { noisePcm, writeTinyTransducer } from "@earshot/engine-sherpa/testing/tiny-transducer";
import type { EngineEvent, EngineStream } from "@earshot/engines";

const root = await mkdtemp(join(tmpdir(), "earshot-sherpa-engine-"));
const dir = join(root, "tiny");
const spec = await writeTinyTransducer(dir);
const silence = (ms: number) => new Int16Array(16 * ms);
const OPTIONS = { language: "en", model: "tiny-transducer", wordTimestamps: true } as const;

async function collect(stream: EngineStream): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

async function run(stream: EngineStream, pcm: Int16Array): Promise<EngineEvent[]> {
  const events = collect(stream);
  for (let i = 0; i < pcm.length; i += 1600) stream.push(pcm.subarray(i, i + 1600));
  await stream.end();
  return events;
}

after(() => rm(root, { recursive: true, force: true }));

const finals = (events: EngineEvent[]) => events.flatMap((e) => (e.type === "final" ? [e] : []));

describe("sherpa-onnx engine", () => {
  const engine = new SherpaOnnxEngine({
    models: [{ dir, spec }],
    endpointingMs: 400,
    silenceEndpointMs: 1000,
  });
  before(() => engine.load());
  after(() => engine.close());

  test("noise gives A… partials, then a final at the pause and an endpoint; the next utterance starts afresh", async () => {
    const stream = await engine.openStream(OPTIONS);
    const events = await run(stream, concatPcm(silence(500), noisePcm(1000, 0.5), silence(800), noisePcm(600, 0.5)));
    const partials = events.filter((e) => e.type === "partial");
    assert.ok(partials.length >= 2, `partials: ${partials.length}`);
    assert.ok(partials.every((e) => e.type === "partial" && /^A+$/.test(e.text)));
    const [first, second] = finals(events);
    assert.ok(first && second, JSON.stringify(events.map((e) => e.type)));
    assert.equal(first.speechFinal, true);
    // One token per 40 ms output frame over 1 s of noise; the second utterance has its own text only.
    assert.ok(first.text.length >= 20 && first.text.length <= 26, first.text);
    assert.ok(second.text.length >= 10 && second.text.length <= 16, second.text);
    assert.equal(second.speechFinal, false);
    const endpoint = events[events.indexOf(first) + 1];
    assert.deepEqual(endpoint, { type: "endpoint", atMs: first.endMs });
    const usage = events.at(-1);
    assert.ok(usage?.type === "usage" && usage.audioMs === 2900, JSON.stringify(usage));
  });

  test("word times are stream-absolute (startSample), inside the noise, and monotonic", async () => {
    const startSample = 16 * 60_000;
    const stream = await engine.openStream({ ...OPTIONS, startSample });
    const events = await run(stream, concatPcm(silence(500), noisePcm(1000, 0.5), silence(800), noisePcm(600, 0.5)));
    const words = finals(events).flatMap((e) => e.words);
    assert.ok(words.length > 30, `${words.length} words`);
    let lastEnd = 0;
    for (const word of words) {
      assert.ok(word.startMs >= lastEnd && word.endMs >= word.startMs, JSON.stringify(word));
      lastEnd = word.endMs;
      assert.ok(word.confidence > 0 && word.confidence <= 1);
    }
    const [first, second] = finals(events);
    // Noise at 500–1500 ms and 2300–2900 ms of this stream, which starts at 60 s.
    assert.ok(
      first && first.startMs >= 60_500 && first.startMs < 60_600 && first.endMs <= 61_600,
      JSON.stringify(first),
    );
    assert.ok(second && second.startMs >= 62_300 && second.endMs <= 62_900, JSON.stringify(second));
  });

  test("silence alone reaches an endpoint (no speech) with an empty final", async () => {
    const stream = await engine.openStream(OPTIONS);
    const events = await run(stream, silence(1600));
    const endpoint = events.findIndex((e) => e.type === "endpoint");
    assert.ok(endpoint > 0, JSON.stringify(events));
    const final = events[endpoint - 1];
    assert.ok(final?.type === "final" && final.speechFinal && final.text === "" && final.words.length === 0);
    // Decoded as far as the 1 s no-speech rule, not to the end of what was received.
    assert.ok(final.startMs === final.endMs && final.endMs >= 1000 && final.endMs < 1400, JSON.stringify(final));
    assert.deepEqual(events[endpoint], { type: "endpoint", atMs: final.endMs });
    assert.ok(events.every((e) => e.type !== "partial"));
  });

  test("PCM16 is scaled to [-1, 1]: quiet noise stays below the fixture's threshold", async () => {
    // Unscaled or reinterpreted samples would be far louder than 0.5 and read as speech.
    const quiet = await run(await engine.openStream(OPTIONS), noisePcm(1000, 0.05));
    assert.deepEqual(
      finals(quiet).map((e) => e.text),
      [],
    );
    const loud = await run(await engine.openStream(OPTIONS), noisePcm(1000, 0.5));
    assert.match(finals(loud)[0]?.text ?? "", /^A{20,}$/);
  });

  test("several streams are decoded in one decodeStreams batch", async () => {
    const before = engine.batchStats;
    const streams = await Promise.all([0, 1, 2].map(() => engine.openStream(OPTIONS)));
    // All audio first, then the ends, so the three backlogs are decoded side by side.
    const results = Promise.all(streams.map((stream) => collect(stream)));
    for (const stream of streams) stream.push(noisePcm(2000, 0.5));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all(streams.map((stream) => stream.end()));
    const after = engine.batchStats;
    assert.ok(after.maxBatch > 1, JSON.stringify(after));
    assert.ok(after.streamsDecoded - before.streamsDecoded > after.batches - before.batches, JSON.stringify(after));
    for (const events of await results) assert.match(finals(events)[0]?.text ?? "", /^A{40,}$/);
  });

  test("flush with a pause: a speech final and the endpoint where the caller saw the pause", async () => {
    const stream = await engine.openStream({ ...OPTIONS, startSample: 16_000 });
    const events: EngineEvent[] = [];
    const reading = (async () => {
      for await (const event of stream) events.push(event);
    })();
    stream.push(noisePcm(700, 0.5));
    stream.flush({ atMs: 1700 });
    stream.push(noisePcm(400, 0.5));
    await stream.end();
    await reading;
    const [first, second] = finals(events);
    assert.equal(first?.speechFinal, true);
    assert.deepEqual(events[events.indexOf(first as EngineEvent) + 1], { type: "endpoint", atMs: 1700 });
    // The tail padding fed for the flush does not shift later times.
    assert.ok(
      second && second.startMs >= 1700 && second.startMs < 1760 && second.endMs <= 2100,
      JSON.stringify(second),
    );
  });

  test("key terms are refused with greedy_search", async () => {
    assert.deepEqual(engine.capabilities.keytermModels, []);
    await assert.rejects(engine.openStream({ ...OPTIONS, keyterms: ["B"] }), KeytermsUnsupportedError);
  });
});

describe("sherpa-onnx engine with modified_beam_search", () => {
  const engine = new SherpaOnnxEngine({ models: [{ dir, spec }], decodingMethod: "modified_beam_search" });
  before(() => engine.load());
  after(() => engine.close());

  test("key terms are honoured: the boosted token wins where it otherwise loses by one logit", async () => {
    assert.deepEqual(engine.capabilities.keytermModels, ["tiny-transducer"]);
    const plain = await run(await engine.openStream(OPTIONS), noisePcm(1000, 0.5));
    assert.match(finals(plain)[0]?.text ?? "", /^A+$/);
    const boosted = await run(await engine.openStream({ ...OPTIONS, keyterms: ["B"] }), noisePcm(1000, 0.5));
    assert.match(finals(boosted)[0]?.text ?? "", /B/);
  });
});
