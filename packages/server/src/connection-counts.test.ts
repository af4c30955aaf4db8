import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConnectionCounts } from "./connection-counts.js";

describe("ConnectionCounts", () => {
  it("refuses a key's connection beyond maxUnconfiguredPerKey until one gets its session", () => {
    const counts = new ConnectionCounts({ maxStreamsPerKey: 10, maxUnconfiguredPerKey: 2 });
    const first = counts.add("k");
    counts.add("k");
    assert.match(counts.refusal("k") ?? "", /2 connections that have not sent config yet; the limit is 2/);
    assert.equal(counts.refusal("other"), undefined);
    assert.equal(counts.unconfigured, 2);
    first.bound();
    assert.equal(counts.unconfigured, 1);
    assert.equal(counts.refusal("k"), undefined);
  });

  it("refuses a key's connection beyond maxStreamsPerKey, configured or not, until one closes", () => {
    const counts = new ConnectionCounts({ maxStreamsPerKey: 2, maxUnconfiguredPerKey: 2 });
    const first = counts.add("k");
    const second = counts.add("k");
    first.bound();
    second.bound();
    assert.match(counts.refusal("k") ?? "", /2 open streams; the limit is 2/);
    assert.equal(counts.open, 2);
    first.closed(true);
    assert.equal(counts.open, 1);
    assert.equal(counts.refusal("k"), undefined);
  });

  it("gives back a connection that closed before it got a session, in the open and the unconfigured counts", () => {
    const counts = new ConnectionCounts({ maxStreamsPerKey: 10, maxUnconfiguredPerKey: 1 });
    counts.add("a").closed(false);
    const b = counts.add("b");
    assert.equal(counts.open, 1);
    assert.equal(counts.unconfigured, 1);
    assert.equal(counts.refusal("a"), undefined);
    b.closed(false);
    assert.equal(counts.open, 0);
    assert.equal(counts.unconfigured, 0);
  });

  it("refuses every connection when a limit is 0", () => {
    const counts = new ConnectionCounts({ maxStreamsPerKey: 0, maxUnconfiguredPerKey: 8 });
    assert.match(counts.refusal("k") ?? "", /0 open streams; the limit is 0/);
  });
});
