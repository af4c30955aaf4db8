import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CallEventMessage } from "@earshot/protocol";
import { silentLogger } from "../logger.js";
import type { CallSink } from "./call.js";
import { CallRegistry } from "./call-registry.js";

const sink = (key: string): CallSink & { messages: CallEventMessage[] } => {
  const messages: CallEventMessage[] = [];
  return { key, messages, send: (m) => messages.push(m), end: () => {}, refuse: () => {} };
};
const start = (sid: string) => ({
  call_sid: sid,
  stream_sid: "MZ",
  account_sid: "AC",
  channels: [],
  custom_parameters: {},
});
const registry = (maxEndedCalls = 2, maxEndedBytes = 1024 * 1024) =>
  new CallRegistry({
    retentionMs: 60_000,
    maxEndedCalls,
    maxEndedBytes,
    maxSubscribersPerCall: 2,
    log: silentLogger(),
  });

describe("CallRegistry", () => {
  it("forgets a pending call when its last subscriber leaves", () => {
    const calls = registry();
    const early = sink("k");
    const subscription = calls.subscribe("CA1", early, 0);
    assert.ok(subscription.ok);
    if (!subscription.ok) return;
    calls.unsubscribe(subscription.call, early);
    const fresh = calls.start("CA1", start("CA1"), "other");
    assert.ok(fresh, "no stale pending record held the call");
    calls.close();
  });

  it("keeps a call to its key, bounds subscribers, and refuses a second live stream", () => {
    const calls = registry();
    assert.ok(calls.start("CA1", start("CA1"), "mine"));
    assert.equal(calls.readableBy("CA1", "theirs"), false);
    assert.equal(calls.subscribe("CA1", sink("theirs"), 0).ok, false);
    assert.ok(calls.subscribe("CA1", sink("mine"), 0).ok);
    assert.ok(calls.subscribe("CA1", sink("mine"), 0).ok);
    const third = calls.subscribe("CA1", sink("mine"), 0);
    assert.equal(third.ok ? "ok" : third.code, "too_many_streams");
    assert.equal(calls.start("CA1", start("CA1"), "mine"), undefined);
    assert.equal(calls.liveCalls(), 1);
    calls.close();
  });

  it("keeps at most maxEndedCalls ended calls, the oldest forgotten first", () => {
    const calls = registry(2);
    for (const sid of ["CA1", "CA2", "CA3"]) {
      const call = calls.start(sid, start(sid), undefined);
      assert.ok(call);
      call.end("stopped", 0);
      calls.ended(call);
    }
    const replay = (sid: string) => {
      const late = sink("k");
      calls.subscribe(sid, late, 0);
      return late.messages.map((m) => m.type);
    };
    assert.deepEqual(replay("CA1"), [], "forgotten: a subscriber now waits for a new call");
    assert.deepEqual(replay("CA3"), ["call_started", "call_ended"]);
    calls.close();
  });

  it("keeps ended calls within a byte budget, the oldest forgotten first", () => {
    const calls = registry(100, 400);
    for (const sid of ["CA1", "CA2", "CA3"]) {
      const call = calls.start(sid, start(sid), undefined);
      assert.ok(call);
      call.end("stopped", 0);
      assert.ok(call.keptBytes > 200 && call.keptBytes < 300, `${call.keptBytes} bytes`);
      calls.ended(call);
    }
    const kept = (sid: string) => {
      const late = sink("k");
      calls.subscribe(sid, late, 0);
      return late.messages.length;
    };
    assert.equal(kept("CA1"), 0);
    assert.equal(kept("CA2"), 0);
    assert.equal(kept("CA3"), 2);
    calls.close();
  });
});
