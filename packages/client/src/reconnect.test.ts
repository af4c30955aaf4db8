import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Backoff } from "./reconnect.js";

/** A seeded uniform [0, 1) source (LCG), so every run sees the same delays. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("Backoff (exponential, full jitter)", () => {
  test("each delay is uniform in [0, min(cap, base·2^(attempt−1))): bounds hold for a seeded run", () => {
    const backoff = new Backoff({ baseDelayMs: 250, maxDelayMs: 10_000, random: seeded(42) });
    const ceilings = [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000];
    for (const [i, ceiling] of ceilings.entries()) {
      const next = backoff.next();
      assert.ok(next);
      assert.equal(next.attempt, i + 1);
      assert.ok(next.delayMs >= 0 && next.delayMs < ceiling, `attempt ${i + 1}: ${next.delayMs} ≥ ${ceiling}`);
    }
  });

  test("jitter spans the whole range: random 0 waits 0, random → 1 waits just under the cap", () => {
    const low = new Backoff({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
    const high = new Backoff({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999_999 });
    for (let i = 0; i < 8; i++) {
      assert.equal(low.next()?.delayMs, 0);
      assert.equal(high.next()?.delayMs, Math.min(1000, 100 * 2 ** i) - 1);
    }
  });

  test("a seeded run is reproducible, and spreads (not lockstep)", () => {
    const run = () => {
      const backoff = new Backoff({ maxDelayMs: 2000, random: seeded(7) });
      return Array.from({ length: 12 }, () => backoff.next()?.delayMs);
    };
    assert.deepEqual(run(), run());
    const capped = run().slice(4);
    assert.ok(new Set(capped).size > 4, `capped delays should differ: ${capped.join(", ")}`);
  });

  test("gives up after maxAttempts", () => {
    const backoff = new Backoff({ maxAttempts: 3, random: () => 0.5 });
    assert.deepEqual(
      [backoff.next()?.attempt, backoff.next()?.attempt, backoff.next()?.attempt, backoff.next()],
      [1, 2, 3, undefined],
    );
  });

  test("the count resets only after a connection stayed up for minUptimeMs", () => {
    let now = 0;
    const backoff = new Backoff({ minUptimeMs: 5000, random: () => 0.5, now: () => now });
    backoff.next();
    backoff.next();
    backoff.connected();
    now += 4999;
    backoff.disconnected();
    assert.equal(backoff.next()?.attempt, 3, "a short-lived connection keeps backing off");
    backoff.connected();
    now += 5000;
    backoff.disconnected();
    assert.equal(backoff.attempt, 0);
    assert.deepEqual(backoff.next(), { attempt: 1, delayMs: 125 });
    backoff.disconnected(); // a failed attempt (never connected) resets nothing
    assert.equal(backoff.attempt, 1);
  });

  test("rejects nonsense options", () => {
    assert.throws(() => new Backoff({ baseDelayMs: 500, maxDelayMs: 100 }), RangeError);
    assert.throws(() => new Backoff({ maxAttempts: -1 }), RangeError);
  });
});
