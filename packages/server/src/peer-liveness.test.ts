import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DropReason } from "./metrics.js";
import { PeerLiveness, type WatchedPeer } from "./peer-liveness.js";

const TIMEOUT_MS = 10_000;

/** A peer that records what the checks did to it; `stalledMs` is how long it has not read. */
function watched(stalledMs = 0): WatchedPeer & { readonly seen: (DropReason | "ping")[] } {
  const seen: (DropReason | "ping")[] = [];
  return { seen, stalledMs: () => stalledMs, ping: () => seen.push("ping"), drop: (reason) => seen.push(reason) };
}

/** Checks run only when the test calls `check` (the interval is far away). */
function liveness(peer: WatchedPeer): PeerLiveness {
  return new PeerLiveness({ pingIntervalMs: 3_600_000, livenessTimeoutMs: TIMEOUT_MS }, peer, (check) => check());
}

describe("PeerLiveness", () => {
  it("pings a peer that answers, and drops one whose pings go unanswered for the timeout", () => {
    const peer = watched();
    const checks = liveness(peer);
    const start = Date.now();
    checks.check(start + 1000);
    checks.answered();
    checks.check(Date.now() + TIMEOUT_MS - 1000);
    checks.check(Date.now() + TIMEOUT_MS + 1000);
    checks.stop();
    assert.deepEqual(peer.seen, ["ping", "ping", "no_pong"]);
  });

  it("does not count the time reading was paused toward a pong", () => {
    const peer = watched();
    const checks = liveness(peer);
    checks.pause(true);
    checks.check(Date.now() + 10 * TIMEOUT_MS);
    checks.pause(false);
    checks.check(Date.now() + 1000);
    checks.stop();
    assert.deepEqual(peer.seen, ["ping", "ping"]);
  });

  it("drops a peer that took none of our bytes for the timeout, even while paused", () => {
    const peer = watched(TIMEOUT_MS + 1);
    const checks = liveness(peer);
    checks.pause(true);
    checks.check(Date.now());
    checks.stop();
    assert.deepEqual(peer.seen, ["not_reading"]);
  });

  it("checks on its own every pingIntervalMs, through the guard, until stopped", async () => {
    const peer = watched();
    let guarded = 0;
    const checks = new PeerLiveness({ pingIntervalMs: 5, livenessTimeoutMs: TIMEOUT_MS }, peer, (check) => {
      guarded += 1;
      check();
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
    checks.stop();
    const pings = peer.seen.length;
    assert.ok(pings >= 2 && guarded === pings, `${pings} pings, ${guarded} guarded`);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(peer.seen.length, pings, "no check after stop");
  });
});
