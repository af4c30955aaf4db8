import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PendingAudio } from "./pending-audio.js";

describe("PendingAudio", () => {
  it("holds copies up to maxMs, then refuses", () => {
    const pending = new PendingAudio(20);
    const pcm = new Int16Array(160).fill(7); // 10 ms
    assert.equal(pending.hold(pcm), true);
    pcm.fill(0); // the caller reuses its buffer
    assert.equal(pending.hold(pcm), true);
    assert.equal(pending.samples, 320);
    assert.equal(pending.hold(new Int16Array(16)), false, "more than 20 ms");
  });

  it("hands what it holds to the stream in order and holds nothing after, so the limit starts over", () => {
    const pending = new PendingAudio(20);
    pending.hold(Int16Array.of(1, 2));
    pending.hold(Int16Array.of(3));
    const pushed: number[][] = [];
    pending.drainInto({ push: (pcm) => pushed.push([...pcm]) });
    assert.deepEqual(pushed, [[1, 2], [3]]);
    assert.equal(pending.samples, 0);
    assert.equal(pending.hold(new Int16Array(320)), true, "a full 20 ms fits again");
    pending.clear();
    assert.equal(pending.samples, 0);
  });
});
