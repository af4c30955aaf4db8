import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ReplayBuffer } from "./replay-buffer.js";

/** Samples whose value is their stream position (mod 30 000), so any view can be checked. */
const ramp = (from: number, length: number) => Int16Array.from({ length }, (_, i) => (from + i) % 30_000);

/** Every retained sample from `from`, following the ring's wrap. */
function read(buffer: ReplayBuffer, from: number): number[] {
  const out: number[] = [];
  for (let at = from; at < buffer.endSample; ) {
    const view = buffer.view(at, Number.POSITIVE_INFINITY);
    out.push(...view);
    at += view.length;
  }
  return out;
}

describe("ReplayBuffer", () => {
  test("keeps stream positions across wraps; views are contiguous pieces of the ring", () => {
    const buffer = new ReplayBuffer(1000);
    let position = 0;
    for (const length of [300, 450, 10, 700, 1, 999]) {
      buffer.append(ramp(position, length));
      position += length;
      buffer.release(position - 600);
      assert.equal(buffer.endSample, position);
      assert.ok(buffer.retainedSamples <= 1000);
      assert.deepEqual(read(buffer, buffer.startSample), [...ramp(buffer.startSample, buffer.retainedSamples)]);
    }
    const wrapped = buffer.view(buffer.startSample, 10_000);
    assert.ok(wrapped.length < buffer.retainedSamples, "the first view stops at the ring's end");
  });

  test("overflow evicts the oldest and names the exact range", () => {
    const buffer = new ReplayBuffer(1600);
    assert.equal(buffer.append(ramp(0, 1600)), undefined);
    assert.deepEqual(buffer.append(ramp(1600, 320)), { fromSample: 0, toSample: 320 });
    assert.equal(buffer.startSample, 320);
    buffer.release(1000);
    assert.equal(buffer.append(ramp(1920, 600)), undefined, "released room is reused first");
    assert.deepEqual(buffer.append(ramp(2520, 200)), { fromSample: 1000, toSample: 1120 });
  });

  test("one append larger than the buffer keeps its newest samples", () => {
    const buffer = new ReplayBuffer(100);
    buffer.append(ramp(0, 40));
    assert.deepEqual(buffer.append(ramp(40, 250)), { fromSample: 0, toSample: 190 });
    assert.deepEqual(read(buffer, 190), [...ramp(190, 100)]);
  });

  test("release is clamped; views outside what is held throw", () => {
    const buffer = new ReplayBuffer(100);
    buffer.append(ramp(0, 50));
    buffer.release(20);
    buffer.release(10); // never goes back
    assert.equal(buffer.startSample, 20);
    buffer.release(1_000);
    assert.equal(buffer.startSample, 50);
    assert.equal(buffer.retainedSamples, 0);
    assert.throws(() => buffer.view(10, 5), RangeError);
    assert.throws(() => buffer.view(51, 5), RangeError);
    assert.equal(buffer.view(50, 5).length, 0);
  });
});

describe("ReplayBuffer with two channels", () => {
  test("positions count frames; a view is whole interleaved frames; eviction goes by frames", () => {
    const buffer = new ReplayBuffer(4, 2);
    assert.equal(buffer.append(Int16Array.from([1, -1, 2, -2, 3, -3])), undefined);
    assert.equal(buffer.endSample, 3);
    assert.deepEqual(Array.from(buffer.view(1, 10)), [2, -2, 3, -3]);
    assert.deepEqual(buffer.append(Int16Array.from([4, -4, 5, -5])), { fromSample: 0, toSample: 1 });
    // The ring wraps after frame 3: the first view stops there, the next one goes on.
    assert.deepEqual(Array.from(buffer.view(1, 10)), [2, -2, 3, -3, 4, -4]);
    assert.deepEqual(Array.from(buffer.view(4, 10)), [5, -5]);
    buffer.release(3);
    assert.equal(buffer.retainedSamples, 2);
  });
});
