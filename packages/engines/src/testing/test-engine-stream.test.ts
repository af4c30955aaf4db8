import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../contract.js";
import { TEST_WORDS, TestEngineStream } from "./test-engine-stream.js";

const SPEECH_RMS = 300;
const ENDPOINT_FRAMES = 15; // 300 ms

/**
 * Speech and silence by turns, in ms (`signal(1000, 400)`: 1 s of speech, then 400 ms of silence).
 * Speech is a square wave of ±3000, so its RMS is 3000.
 */
function signal(...turnsMs: number[]): Int16Array {
  const samples: number[] = [];
  turnsMs.forEach((ms, turn) => {
    for (let i = 0; i < ms * 16; i++) samples.push(turn % 2 === 1 ? 0 : i % 2 === 0 ? 3000 : -3000);
  });
  return Int16Array.from(samples);
}

/** Pushes `pcm` in pieces of `pieceSamples`, ends the stream and returns every event. */
async function run(pcm: Int16Array, pieceSamples = pcm.length, model = "test", startFrame = 0): Promise<EngineEvent[]> {
  const stream = new TestEngineStream(SPEECH_RMS, ENDPOINT_FRAMES, model, startFrame);
  for (let at = 0; at < pcm.length; at += pieceSamples) stream.push(pcm.subarray(at, at + pieceSamples));
  await stream.end();
  const events: EngineEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const finals = (events: EngineEvent[]) => events.filter((e) => e.type === "final");

describe("TestEngineStream", () => {
  it("names words from a vocabulary when given one: a burst starting at 800 ms is its fifth word", async () => {
    const stream = new TestEngineStream(SPEECH_RMS, ENDPOINT_FRAMES, "test", 0, [
      "zero",
      "one",
      "two",
      "three",
      "four",
    ]);
    stream.push(signal(0, 800, 200, 200, 200, 400));
    await stream.end();
    const events: EngineEvent[] = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(
      finals(events).map((e) => e.text),
      ["four one"],
    );
  });

  it("names each 200 ms of speech as a word by its start time and ends the utterance at a pause", async () => {
    const events = await run(signal(1000, 400, 400));
    assert.deepEqual(
      events.filter((e) => e.type === "partial").map((e) => e.text),
      [
        "alpha",
        "alpha bravo",
        "alpha bravo charlie",
        "alpha bravo charlie delta",
        TEST_WORDS.slice(0, 5).join(" "),
        "hotel",
        "hotel india",
      ],
    );
    const [first, second] = finals(events);
    assert.equal(first?.text, "alpha bravo charlie delta echo");
    assert.equal(first?.speechFinal, true);
    assert.deepEqual([first?.startMs, first?.endMs], [0, 1000]);
    assert.deepEqual(first?.words[1], { word: "bravo", startMs: 200, endMs: 400, confidence: 1 });
    // The second utterance is cut by end(), not by a pause.
    assert.equal(second?.text, "hotel india");
    assert.equal(second?.speechFinal, false);
    assert.deepEqual(
      events.filter((e) => e.type === "endpoint"),
      [{ type: "endpoint", atMs: 1000 }],
    );
    assert.deepEqual(events.at(-1), { type: "usage", audioMs: 1800, processingMs: 0 });
  });

  it("gives the same events however the audio is chunked", async () => {
    const pcm = signal(0, 130, 730, 350, 250, 90);
    const whole = await run(pcm);
    assert.deepEqual(await run(pcm, 7), whole);
    assert.deepEqual(await run(pcm, 333), whole);
  });

  it("a stream continued from a later frame names its words as the original would", async () => {
    const events = await run(signal(400), undefined, "test", 50);
    assert.equal(finals(events)[0]?.text, "foxtrot golf");
    assert.equal(finals(events)[0]?.startMs, 1000);
  });

  it("test-crash fails after one second of audio and finishes", async () => {
    const stream = new TestEngineStream(SPEECH_RMS, ENDPOINT_FRAMES, "test-crash", 0);
    stream.push(signal(0, 1000));
    assert.equal(stream.finished, false);
    stream.push(signal(0, 20));
    assert.equal(stream.finished, true);
    const events: EngineEvent[] = [];
    for await (const event of stream) events.push(event);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, "error");
  });

  it("test-malformed gives finals without words; test-bad-close throws from close()", async () => {
    const [final] = finals(await run(signal(400), undefined, "test-malformed"));
    assert.equal(final?.text, "alpha bravo");
    assert.equal(final?.words, undefined);
    const stream = new TestEngineStream(SPEECH_RMS, ENDPOINT_FRAMES, "test-bad-close", 0);
    assert.throws(() => stream.close(), /test-bad-close/);
    assert.equal(stream.finished, true);
    assert.doesNotThrow(() => new TestEngineStream(SPEECH_RMS, ENDPOINT_FRAMES, "test", 0).close());
  });
});
