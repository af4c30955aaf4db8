import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import { awaitStart, type StartFailure } from "./host-start.js";

/** Starts against a plain emitter; the failure it saw comes back as the rejection's cause. */
function starting(far: EventEmitter, timeoutMs?: number): Promise<string> {
  return awaitStart(far, {
    ready: () => "handle",
    failed: (failure: StartFailure) => new Error(failure.kind, { cause: failure }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

async function failure(promise: Promise<unknown>): Promise<StartFailure> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).cause as StartFailure;
  }
  assert.fail("it started");
}

const LISTENED = ["message", "error", "exit"] as const;

describe("awaitStart", () => {
  test("resolves with the handle on ready, and listens no more", async () => {
    const far = new EventEmitter();
    const started = starting(far);
    far.emit("message", { type: "opened", streamId: 1 });
    far.emit("message", { type: "ready" });
    assert.equal(await started, "handle");
    for (const event of LISTENED) assert.equal(far.listenerCount(event), 0, event);
  });

  test("a host that started in time is not failed when the time is up", async () => {
    const far = new EventEmitter();
    let failures = 0;
    const started = awaitStart(far, {
      ready: () => "handle",
      failed: () => {
        failures += 1;
        return new Error("failed");
      },
      timeoutMs: 20,
    });
    far.emit("message", { type: "ready" });
    assert.equal(await started, "handle");
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(failures, 0);
  });

  test("the far side's own failure message", async () => {
    const far = new EventEmitter();
    const started = starting(far);
    far.emit("message", { type: "failed", message: "no library" });
    assert.deepEqual(await failure(started), { kind: "failed", message: "no library" });
    for (const event of LISTENED) assert.equal(far.listenerCount(event), 0, event);
  });

  test("an error, or an exit with or without a signal", async () => {
    const boom = new Error("spawn failed");
    const erring = new EventEmitter();
    const errored = starting(erring);
    erring.emit("error", boom);
    assert.deepEqual(await failure(errored), { kind: "error", error: boom });

    const thread = new EventEmitter();
    const threadExit = starting(thread);
    thread.emit("exit", 1);
    assert.deepEqual(await failure(threadExit), { kind: "exit", code: 1, signal: null });

    const child = new EventEmitter();
    const childExit = starting(child);
    child.emit("exit", null, "SIGABRT");
    assert.deepEqual(await failure(childExit), { kind: "exit", code: null, signal: "SIGABRT" });
  });

  test("no answer within timeoutMs", async () => {
    const far = new EventEmitter();
    assert.deepEqual(await failure(starting(far, 20)), { kind: "timeout", timeoutMs: 20 });
    for (const event of LISTENED) assert.equal(far.listenerCount(event), 0, event);
  });
});
