/**
 * Fair scheduling inside a PocketSphinx worker: a stream that pushes a long stretch of audio at
 * once takes turns with the others, so a short utterance on another stream is decoded while the
 * long one is still far behind (before, it waited for the whole backlog).
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_STREAM_DEMAND,
  DEFAULT_TALK_SHARE,
  PocketSphinxEngine,
  SPEAKERS_QUANTILE_Z,
} from "@earshot/engine-pocketsphinx";
import type { EngineEvent } from "@earshot/engines";
import { speechStream } from "./helpers/speech.js";

const OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: false } as const;

test("one worker shares its time: a short utterance is not stuck behind another stream's long backlog", async () => {
  const engine = new PocketSphinxEngine({ workers: 1 });
  await engine.load();
  try {
    const long = await engine.openStream(OPTIONS);
    const short = await engine.openStream(OPTIONS);
    const longEvents: EngineEvent[] = [];
    const longDone = (async () => {
      for await (const event of long) longEvents.push(event);
    })();
    // About 24 s of speech at once: several seconds of decoding on one core.
    const backlog = speechStream(["ls-1221-135766-0001", "ls-1089-134686-0000"], 500);
    long.push(backlog);
    const longEnded = long.end();

    const clip = speechStream(["ls-1089-134691-0000"], 300);
    const started = performance.now();
    short.push(clip);
    short.flush();
    let shortFinal: EngineEvent | undefined;
    let backlogAtFinalMs = 0;
    for await (const event of short) {
      if (event.type === "final" && event.text !== "") {
        shortFinal = event;
        backlogAtFinalMs = long.backlogMs;
        break;
      }
    }
    const waitedMs = performance.now() - started;
    assert.match(shortFinal?.type === "final" ? shortFinal.text : "", /wait/);
    assert.ok(
      backlogAtFinalMs > 5_000,
      `the long stream still had ${backlogAtFinalMs} ms to decode when the short final came (${Math.round(waitedMs)} ms)`,
    );
    short.close();
    await longEnded;
    await longDone;
    assert.ok(longEvents.some((e) => e.type === "final" && e.text !== ""));
  } finally {
    await engine.close();
  }
});

test("the engine reports its load: open streams, backlog, and a fast stream's demand at its real-time factor", async () => {
  const engine = new PocketSphinxEngine({ workers: 1 });
  await engine.load();
  try {
    const { decoders, ...start } = engine.loadSnapshot();
    assert.deepEqual(start, {
      streams: 0,
      utilization: 0,
      threads: 1,
      streamDemand: DEFAULT_TALK_SHARE * DEFAULT_STREAM_DEMAND,
      maxBacklogMs: 0,
    });
    assert.deepEqual(decoders, {
      size: 8,
      free: 8,
      lent: 0,
      waiting: 0,
      created: { startup: 8, background: 0, connect: 0 },
      waits: 0,
      destroyed: 0,
    });
    const stream = await engine.openStream(OPTIONS);
    const pcm = speechStream(["ls-1089-134686-0000"], 0);
    stream.push(pcm);
    const queued = engine.loadSnapshot();
    assert.equal(queued.streams, 1);
    assert.ok(queued.maxBacklogMs > 5_000, `backlog ${queued.maxBacklogMs}`);
    const reading = (async () => {
      for await (const _ of stream);
    })();
    while (engine.loadSnapshot().maxBacklogMs > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    // The file went in at full speed and kept the thread busy throughout, but as a live stream it
    // would need only its real-time factor (about 0.25 here; well under 1 on any machine that decodes
    // faster than real time).
    const decoded = engine.loadSnapshot();
    assert.equal(decoded.streams, 1);
    assert.ok(decoded.utilization > 0.02 && decoded.utilization < 0.8, `utilization ${decoded.utilization}`);
    await stream.end();
    await reading;
    // The prior for new streams is now this stream's demand if it ran 3 s or more, else the default.
    const { streamDemand, decoders: _, ...idle } = engine.loadSnapshot();
    assert.deepEqual(idle, { streams: 0, utilization: 0, threads: 1, maxBacklogMs: 0 });
    assert.ok(streamDemand !== undefined && streamDemand > 0 && streamDemand < 1, `streamDemand ${streamDemand}`);
  } finally {
    await engine.close();
  }
});

test("what counts is speech: a silent stream counts the share of time streams speak, one in an utterance an average speaker", async () => {
  const engine = new PocketSphinxEngine({ workers: 2 });
  await engine.load();
  try {
    const streams = await Promise.all([1, 2, 3, 4].map(() => engine.openStream(OPTIONS)));
    // Connected, silent: no decoder held. Together they count the 95th percentile of how many of them
    // speak at once (each does with the odds DEFAULT_TALK_SHARE): mean + z × standard deviation.
    const silent = engine.loadSnapshot();
    assert.equal(silent.streams, 4);
    assert.equal(silent.threads, 2);
    const p = DEFAULT_TALK_SHARE;
    const speakersAtOnce = 4 * p + SPEAKERS_QUANTILE_Z * Math.sqrt(4 * p * (1 - p));
    assert.ok(
      Math.abs(silent.utilization - (speakersAtOnce * DEFAULT_STREAM_DEMAND) / 2) < 1e-9,
      `utilization ${silent.utilization} while 4 streams are silent`,
    );
    assert.equal(silent.decoders?.lent, 0);
    // Speech starts on all four at once: each counts at least DEFAULT_STREAM_DEMAND of a thread at
    // once, over 2 threads, before any has shown its own demand.
    const tone = new Int16Array(3_200).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / 16_000)));
    for (const stream of streams) stream.push(tone);
    const speaking = engine.loadSnapshot();
    assert.ok(
      speaking.utilization >= (4 * DEFAULT_STREAM_DEMAND) / 2 - 1e-9,
      `utilization ${speaking.utilization} while 4 streams speak`,
    );
    assert.ok(speaking.utilization > silent.utilization);
    for (const stream of streams) stream.close();
    assert.equal(engine.loadSnapshot().utilization, 0);
  } finally {
    await engine.close();
  }
});
