import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineEvent } from "./contract.js";
import { RemoteStream, type StreamTransport } from "./remote-stream.js";
import { RemoteStreams } from "./remote-streams.js";

const silent: StreamTransport = { push: () => {}, flush: () => {}, end: () => {}, close: () => {} };

async function drain(stream: RemoteStream): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** An open the far side has answered. */
async function opened(streams: RemoteStreams<RemoteStream>, id: number): Promise<RemoteStream> {
  const stream = new RemoteStream(silent, id, 0);
  const opening = streams.open(stream, () => {});
  streams.answered(id);
  await opening;
  return stream;
}

describe("RemoteStreams", () => {
  test("an open is sent, counts while unanswered, and routes once the far side has opened it", async () => {
    const streams = new RemoteStreams<RemoteStream>();
    const stream = new RemoteStream(silent, 7, 0);
    let sent = 0;
    const opening = streams.open(stream, () => sent++);
    assert.equal(sent, 1);
    assert.equal(streams.count, 1);
    assert.equal(streams.openingCount, 1);
    assert.equal(streams.get(7), undefined);
    streams.answered(7);
    await opening;
    assert.equal(streams.count, 1);
    assert.equal(streams.openingCount, 0);
    assert.equal(streams.get(7), stream);
    assert.deepEqual([...streams.values()], [stream]);
  });

  test("a refused open rejects with the far side's reason and leaves nothing behind", async () => {
    const streams = new RemoteStreams<RemoteStream>();
    const opening = streams.open(new RemoteStream(silent, 1, 0), () => {});
    streams.answered(1, new Error("no such model"));
    await assert.rejects(opening, /no such model/);
    assert.equal(streams.count, 0);
    assert.equal(streams.get(1), undefined);
    streams.answered(1);
    streams.answered(99, new Error("unknown"));
  });

  test("an ended stream finishes and is routed no more", async () => {
    const streams = new RemoteStreams<RemoteStream>();
    const stream = await opened(streams, 1);
    const ending = stream.end();
    streams.ended(1);
    await ending;
    assert.equal(streams.get(1), undefined);
    assert.equal(streams.count, 0);
    streams.ended(1);
  });

  test("a detached stream is routed no more and is not failed with the rest", async () => {
    const streams = new RemoteStreams<RemoteStream>();
    const kept = await opened(streams, 1);
    const detached = await opened(streams, 2);
    streams.detach(2);
    assert.equal(streams.get(2), undefined);
    assert.equal(streams.count, 1);
    const error = new Error("gone");
    streams.failAll(error);
    assert.deepEqual(await drain(kept), [{ type: "error", error }]);
    detached.ended();
    assert.deepEqual(await drain(detached), []);
  });

  test("failAll rejects every pending open and ends every stream with the error", async () => {
    const streams = new RemoteStreams<RemoteStream>();
    const a = await opened(streams, 1);
    const b = await opened(streams, 2);
    const pending = streams.open(new RemoteStream(silent, 3, 0), () => {});
    const error = new Error("far side crashed");
    streams.failAll(error);
    await assert.rejects(pending, /far side crashed/);
    assert.equal(streams.count, 0);
    for (const stream of [a, b]) assert.deepEqual(await drain(stream), [{ type: "error", error }]);
    streams.answered(3);
  });

  test("maxBacklogMs is the largest backlog among the open streams", async () => {
    const streams = new RemoteStreams<RemoteStream>();
    assert.equal(streams.maxBacklogMs, 0);
    const a = await opened(streams, 1);
    const b = await opened(streams, 2);
    a.push(new Int16Array(1600));
    b.push(new Int16Array(4800));
    assert.equal(streams.maxBacklogMs, 300);
    b.consumed(4800);
    assert.equal(streams.maxBacklogMs, 100);
  });
});
