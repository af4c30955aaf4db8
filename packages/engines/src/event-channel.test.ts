import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventChannel } from "./event-channel.js";

async function collect<T>(channel: EventChannel<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of channel) items.push(item);
  return items;
}

describe("EventChannel", () => {
  it("gives what was pushed before and while it is read, in order, then stops at end()", async () => {
    const channel = new EventChannel<number>();
    channel.push(1);
    channel.push(2);
    const read = collect(channel);
    await new Promise((resolve) => setImmediate(resolve));
    channel.push(3);
    channel.end();
    assert.deepEqual(await read, [1, 2, 3]);
  });

  it("a reader waiting for the next item gets it as soon as it is pushed", async () => {
    const channel = new EventChannel<string>();
    const iterator = channel[Symbol.asyncIterator]();
    const next = iterator.next();
    channel.push("partial");
    assert.deepEqual(await next, { value: "partial", done: false });
  });

  it("end() lets a reader drain what is queued; a waiting reader is told it is done", async () => {
    const queued = new EventChannel<number>();
    queued.push(1);
    queued.end();
    assert.equal(queued.ended, true);
    assert.deepEqual(await collect(queued), [1]);

    const waiting = new EventChannel<number>();
    const next = waiting[Symbol.asyncIterator]().next();
    waiting.end();
    assert.deepEqual(await next, { value: undefined, done: true });
  });

  it("ignores pushes after end()", async () => {
    const channel = new EventChannel<number>();
    channel.end();
    channel.push(1);
    assert.deepEqual(await collect(channel), []);
  });

  it("clear() drops what is queued and ends", async () => {
    const channel = new EventChannel<number>();
    channel.push(1);
    channel.push(2);
    channel.clear();
    assert.equal(channel.ended, true);
    assert.deepEqual(await collect(channel), []);
  });

  it("a reader that stops early (break) ends the channel and drops the rest", async () => {
    const channel = new EventChannel<number>();
    for (const n of [1, 2, 3]) channel.push(n);
    for await (const n of channel) {
      assert.equal(n, 1);
      break;
    }
    assert.equal(channel.ended, true);
    channel.push(4);
    assert.deepEqual(await collect(channel), []);
  });
});
