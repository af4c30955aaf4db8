import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { msToSamples } from "@earshot/protocol";
import { StreamPosition } from "./stream-position.js";

describe("StreamPosition", () => {
  it("counts the audio from the session's start, not from zero", () => {
    const position = new StreamPosition();
    position.startAt(msToSamples(1_000));
    position.openAt(msToSamples(1_000));
    assert.equal(position.advance(msToSamples(250)), msToSamples(1_250));
    assert.equal(position.received, msToSamples(1_250));
    assert.equal(position.audioMs, 250);
  });

  it("restarts at the end of the last final, never going back and never past the audio", () => {
    const position = new StreamPosition();
    position.openAt(0);
    position.advance(msToSamples(2_000));
    position.finalEndsAt(800);
    assert.equal(position.restart, msToSamples(800));
    position.finalEndsAt(500); // an earlier end does not move it back
    assert.equal(position.restart, msToSamples(800));
    position.finalEndsAt(3_000); // a final past the audio received ends where the audio does
    assert.equal(position.restart, msToSamples(2_000));
  });

  it("a reopened engine stream starts both the audio and the restart point there", () => {
    const position = new StreamPosition();
    position.openAt(0);
    position.advance(msToSamples(2_000));
    position.finalEndsAt(1_200);
    position.openAt(msToSamples(1_200));
    assert.equal(position.received, msToSamples(1_200));
    assert.equal(position.restart, msToSamples(1_200));
  });
});
