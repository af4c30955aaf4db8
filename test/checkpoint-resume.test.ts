/**
 * Issue 15 item 3 at engine level, with the engine `earshot serve` ships (VAD gate + PocketSphinx
 * with FAST_DECODER_ARGS): a long stream of real speech with pauses gives `checkpoint` events; a
 * new stream opened at *every* one of them (`resumeFrom`, its state through JSON as a client would
 * store it) and fed the same audio from there gives exactly the later finals and endpoints of the
 * uninterrupted stream: words, boundaries and times. Without `resumeFrom` (a fresh stream at the
 * same sample, what a restarted server did before) they differ.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { type EngineEvent, ResumeStateError, type StreamOptions } from "@earshot/engines";
import { VadGatedEngine } from "@earshot/vad";
import { SIX_CLIPS, speechStream } from "./helpers/speech.js";

const OPTIONS: StreamOptions = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true };
const CLIPS = SIX_CLIPS;
const AUDIO = speechStream(CLIPS, 900);
const CHUNK = 1_600;

type Outcome = Extract<EngineEvent, { type: "final" | "endpoint" | "checkpoint" }>;

async function run(engine: VadGatedEngine, options: StreamOptions, from: number): Promise<Outcome[]> {
  const stream = await engine.openStream(options);
  const events: Outcome[] = [];
  const reading = (async () => {
    for await (const event of stream) {
      if (event.type === "error") throw event.error;
      if (event.type === "final" || event.type === "endpoint" || event.type === "checkpoint") events.push(event);
    }
  })();
  for (let at = from; at < AUDIO.length; at += CHUNK) {
    stream.push(AUDIO.subarray(at, Math.min(at + CHUNK, AUDIO.length)));
    if ((at / CHUNK) % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await stream.end();
  await reading;
  return events;
}

/**
 * Finals (text, times, words) and endpoints, as comparable lines; with `confidence`, word
 * confidences too (they can differ a little in the first utterance after a resume: see
 * docs/design/decoder-state.md, "Continuing a stream in another server").
 */
function transcript(events: readonly Outcome[], confidence = false): string[] {
  return events.flatMap((event) => {
    if (event.type === "endpoint") return [`endpoint ${event.atMs}`];
    if (event.type !== "final") return [];
    const words = event.words
      .map((w) => `${w.word}@${w.startMs}-${w.endMs}${confidence ? `~${w.confidence.toFixed(3)}` : ""}`)
      .join(" ");
    return [`final ${event.startMs}-${event.endMs} "${event.text}" ${words}`];
  });
}

describe("a stream continued from its checkpoints (shipped engine)", () => {
  let engine: VadGatedEngine;
  let reference: Outcome[];
  let checkpoints: Array<{ index: number; atSample: number; state: unknown }>;

  before(async () => {
    engine = new VadGatedEngine(new PocketSphinxEngine({ workers: 2, decoderArgs: FAST_DECODER_ARGS }));
    await engine.load();
    reference = await run(engine, OPTIONS, 0);
    checkpoints = reference.flatMap((event, index) =>
      event.type === "checkpoint"
        ? [{ index, atSample: event.atSample, state: JSON.parse(JSON.stringify(event.state)) }]
        : [],
    );
  });
  after(() => engine.close());

  it("gives a checkpoint after each pause's final and endpoint", () => {
    assert.ok(checkpoints.length >= 6, `only ${checkpoints.length} checkpoints`);
    for (const { index, atSample } of checkpoints) {
      assert.equal(reference[index - 1]?.type, "endpoint", "a checkpoint follows the endpoint it closes");
      assert.equal(atSample % 512, 0, "on the VAD's window grid");
    }
  });

  it("continued at every checkpoint, gives the uninterrupted stream's later finals exactly", {
    timeout: 300_000,
  }, async (t) => {
    let confidenceDiffers = 0;
    for (const { index, atSample, state } of checkpoints) {
      const continued = await run(engine, { ...OPTIONS, resumeFrom: { atSample, state } }, atSample);
      const expected = reference.slice(index + 1);
      assert.deepEqual(transcript(continued), transcript(expected), `resumed at sample ${atSample}`);
      if (JSON.stringify(transcript(continued, true)) !== JSON.stringify(transcript(expected, true)))
        confidenceDiffers++;
      // Its own checkpoints are the same too, so it can be continued again.
      assert.deepEqual(
        continued.filter((e) => e.type === "checkpoint").map((e) => e.atSample),
        expected.filter((e) => e.type === "checkpoint").map((e) => e.atSample),
      );
    }
    t.diagnostic(
      `${checkpoints.length} resume points, ${transcript(reference).length} finals and endpoints; ` +
        `word confidences differ (3 decimals) after ${confidenceDiffers}`,
    );
  });

  it("started fresh at the same samples instead, the later finals differ", { timeout: 300_000 }, async (t) => {
    let differ = 0;
    for (const { index, atSample } of checkpoints) {
      const fresh = await run(engine, { ...OPTIONS, startSample: atSample }, atSample);
      if (JSON.stringify(transcript(fresh)) !== JSON.stringify(transcript(reference.slice(index + 1)))) differ++;
    }
    t.diagnostic(`${differ} of ${checkpoints.length} fresh starts differ`);
    assert.ok(differ > checkpoints.length / 2, `only ${differ} of ${checkpoints.length} differ`);
  });

  it("refuses a state that is not its checkpoint with invalid_resume_state", async () => {
    const good = checkpoints[0];
    assert.ok(good);
    const broken = (state: unknown, atSample = good.atSample) =>
      assert.rejects(
        engine.openStream({ ...OPTIONS, resumeFrom: { atSample, state } }),
        (error: unknown) => error instanceof ResumeStateError && error.code === "invalid_resume_state",
      );
    const gate = good.state as { inner: { atSample: number; state: Record<string, unknown> }; vad: unknown };
    await broken(null);
    await broken("x");
    await broken({ ...gate, vad: { state: [1, 2], context: [] } });
    await broken({ ...gate, inner: { atSample: -1, state: gate.inner.state } });
    await broken({ ...gate, inner: { ...gate.inner, state: { ...gate.inner.state, samples: "many" } } });
    await broken({ ...gate, inner: { ...gate.inner, state: { ...gate.inner.state, decoder: { cmn: {} } } } });
    await broken(gate, -5);
  });
});
