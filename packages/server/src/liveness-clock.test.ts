import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LivenessClock } from "./liveness-clock.js";

describe("LivenessClock", () => {
  it("counts reading time since the last pong", () => {
    const clock = new LivenessClock(0);
    assert.equal(clock.unansweredMs(3000), 3000);
    clock.answered(3000);
    assert.equal(clock.unansweredMs(4500), 1500);
  });

  it("does not count paused time, and a resume does not restart the count", () => {
    const clock = new LivenessClock(0);
    clock.pause(1000);
    assert.equal(clock.unansweredMs(60_000), 1000, "paused: pongs wait unread");
    clock.resume(60_000);
    assert.equal(clock.unansweredMs(60_500), 1500);
    // A fast sender that keeps the server paused: short reading stretches add up.
    for (let i = 0; i < 20; i++) {
      clock.pause(60_500 + i * 1000);
      clock.resume(61_400 + i * 1000);
    }
    assert.equal(clock.unansweredMs(80_500), 1500 + 20 * 100);
  });

  it("a pong read while reading restarts the count from then", () => {
    const clock = new LivenessClock(0);
    clock.pause(2000);
    clock.resume(5000);
    clock.answered(5100);
    assert.equal(clock.unansweredMs(5100), 0);
    clock.pause(5600);
    assert.equal(clock.unansweredMs(9000), 500);
  });
});
