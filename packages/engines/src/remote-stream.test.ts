import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineEvent } from "./contract.js";
import { RemoteStream, type StreamTransport } from "./remote-stream.js";

type Call = readonly [string, ...unknown[]];

/** A transport that records what the stream sends. */
function fakeTransport(): { transport: StreamTransport; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    transport: {
      push: (pcm) => calls.push(["push", pcm.length]),
      flush: (pauseAtMs) => calls.push(["flush", pauseAtMs]),
      end: () => calls.push(["end"]),
      close: () => calls.push(["close"]),
    },
  };
}

async function drain(stream: RemoteStream): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Whether `promise` has settled by the next macrotask. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("RemoteStream", () => {
  test("push sends the audio and counts it as backlog until the far side has consumed it", () => {
    const { transport, calls } = fakeTransport();
    const stream = new RemoteStream(transport, 1, 0);
    stream.push(new Int16Array(1600));
    stream.push(new Int16Array(0));
    stream.push(new Int16Array(800));
    assert.deepEqual(calls, [
      ["push", 1600],
      ["push", 800],
    ]);
    assert.equal(stream.backlogMs, 150);
    stream.consumed(1600);
    assert.equal(stream.backlogMs, 50);
    stream.consumed(10_000);
    assert.equal(stream.backlogMs, 0);
  });

  test("a pause is sent on the decoder's clock, which starts at the stream's first sample", () => {
    const { transport, calls } = fakeTransport();
    const stream = new RemoteStream(transport, 1, 16_000);
    stream.flush({ atMs: 1500 });
    stream.flush();
    assert.deepEqual(calls, [
      ["flush", 500],
      ["flush", undefined],
    ]);
  });

  test("events are moved by the stream's start; usage is not", async () => {
    const stream = new RemoteStream(fakeTransport().transport, 1, 32_000);
    const word = { word: "go", startMs: 10, endMs: 200, confidence: 0.9 };
    stream.receive({ type: "partial", text: "go", startMs: 10, endMs: 200, words: [word] });
    stream.receive({ type: "final", speechFinal: true, text: "go", startMs: 10, endMs: 250, words: [word] });
    stream.receive({ type: "endpoint", atMs: 300 });
    stream.receive({ type: "usage", audioMs: 300, processingMs: 40 });
    stream.ended();
    const events = await drain(stream);
    assert.deepEqual(events, [
      { type: "partial", text: "go", startMs: 2010, endMs: 2200, words: [{ ...word, startMs: 2010, endMs: 2200 }] },
      {
        type: "final",
        speechFinal: true,
        text: "go",
        startMs: 2010,
        endMs: 2250,
        words: [{ ...word, startMs: 2010, endMs: 2200 }],
      },
      { type: "endpoint", atMs: 2300 },
      { type: "usage", audioMs: 300, processingMs: 40 },
    ]);
  });

  test("end is sent once and resolves when the far side has sent the last event", async () => {
    const { transport, calls } = fakeTransport();
    const stream = new RemoteStream(transport, 1, 0);
    const ending = stream.end();
    const again = stream.end();
    stream.push(new Int16Array(160));
    stream.flush();
    assert.equal(await settled(ending), false);
    stream.receive({ type: "endpoint", atMs: 5 });
    stream.ended();
    await Promise.all([ending, again]);
    assert.deepEqual(calls, [["end"]]);
    assert.deepEqual(await drain(stream), [{ type: "endpoint", atMs: 5 }]);
    await stream.end();
  });

  test("a failure is one error event, then nothing; a pending end resolves", async () => {
    const { transport, calls } = fakeTransport();
    const stream = new RemoteStream(transport, 1, 0);
    const ending = stream.end();
    const error = new Error("far side died");
    stream.fail(error);
    stream.fail(new Error("again"));
    stream.receive({ type: "endpoint", atMs: 5 });
    await ending;
    assert.deepEqual(await drain(stream), [{ type: "error", error }]);
    stream.push(new Int16Array(160));
    stream.close();
    assert.deepEqual(calls, [["end"]]);
  });

  test("close tells the far side once, drops queued events and resolves a pending end", async () => {
    const { transport, calls } = fakeTransport();
    const stream = new RemoteStream(transport, 1, 0);
    stream.receive({ type: "endpoint", atMs: 5 });
    const ending = stream.end();
    stream.close();
    stream.close();
    await ending;
    assert.deepEqual(await drain(stream), []);
    stream.push(new Int16Array(160));
    await stream.end();
    assert.deepEqual(calls, [["end"], ["close"]]);
  });
});
