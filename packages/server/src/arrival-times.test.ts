import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArrivalTimes } from "./arrival-times.js";

describe("ArrivalTimes", () => {
  it("finds the chunk a sample arrived in", () => {
    const arrivals = new ArrivalTimes(0);
    arrivals.record(1600, 100); // samples 0..1599 at t=100
    arrivals.record(3200, 200); // 1600..3199 at t=200
    arrivals.record(4800, 300);
    assert.equal(arrivals.arrivalOf(0), 100);
    assert.equal(arrivals.arrivalOf(1599), 100);
    assert.equal(arrivals.arrivalOf(1600), 200);
    assert.equal(arrivals.arrivalOf(4799), 300);
    assert.equal(arrivals.arrivalOf(9999), 300, "past the newest audio: the newest arrival");
  });

  it("knows nothing before the stream's start position or before anything arrived", () => {
    const arrivals = new ArrivalTimes(16_000);
    assert.equal(arrivals.arrivalOf(16_000), undefined);
    arrivals.record(17_600, 50);
    assert.equal(arrivals.arrivalOf(15_999), undefined);
    assert.equal(arrivals.arrivalOf(16_000), 50);
  });

  it("merges chunks that arrive together", () => {
    const arrivals = new ArrivalTimes(0, 2);
    arrivals.record(100, 10);
    arrivals.record(200, 12); // same burst: extends the entry at t=10
    arrivals.record(300, 40);
    assert.equal(arrivals.arrivalOf(150), 10);
    assert.equal(arrivals.arrivalOf(250), 40);
    assert.equal(arrivals.arrivalOf(0), 10, "nothing was evicted: the first entry starts at the stream start");
  });

  it("forgets the oldest entries beyond its capacity", () => {
    const arrivals = new ArrivalTimes(0, 3);
    for (let i = 1; i <= 5; i++) arrivals.record(i * 100, i * 10);
    // Kept: (300, 30), (400, 40), (500, 50); samples before 200 are gone with (200, 20).
    assert.equal(arrivals.arrivalOf(199), undefined);
    assert.equal(arrivals.arrivalOf(200), 30);
    assert.equal(arrivals.arrivalOf(350), 40);
    assert.equal(arrivals.arrivalOf(499), 50);
  });
});
