import assert from "node:assert/strict";
import { test } from "node:test";
import { TypedEmitter } from "./emitter.js";

class Emitter extends TypedEmitter<{ tick: number; done: undefined }> {
  fire<K extends "tick" | "done">(event: K, payload: { tick: number; done: undefined }[K]): void {
    this.emit(event, payload);
  }
}

test("on / once / off and the unsubscribe function", () => {
  const emitter = new Emitter();
  const seen: string[] = [];
  const off = emitter.on("tick", (n) => seen.push(`on ${n}`));
  emitter.once("tick", (n) => seen.push(`once ${n}`));
  emitter.fire("tick", 1);
  emitter.fire("tick", 2);
  off();
  emitter.fire("tick", 3);
  assert.deepEqual(seen, ["on 1", "once 1", "on 2"]);
  assert.equal(emitter.listenerCount("tick"), 0);
});

test("a throwing listener does not stop the others; its error is rethrown on a microtask", () => {
  const emitter = new Emitter();
  const seen: number[] = [];
  emitter.on("tick", () => {
    throw new Error("listener bug");
  });
  emitter.on("tick", (n) => seen.push(n));
  const deferred: VoidFunction[] = [];
  const original = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (callback) => deferred.push(callback);
  try {
    emitter.fire("tick", 7);
  } finally {
    globalThis.queueMicrotask = original;
  }
  assert.deepEqual(seen, [7]);
  assert.equal(deferred.length, 1);
  assert.throws(() => deferred[0]?.(), /listener bug/);
});
