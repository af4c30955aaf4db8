import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "@earshot/test-support";
import { burstFiles, burstPlaylist, measuredStartMs } from "./burst.js";
import {
  CALL_CENTRE,
  callCentrePlaylist,
  clipMs,
  FRAME_MS,
  loadClips,
  type PlaylistItem,
  talkRatioOf,
} from "./playlist.js";

const clips = loadClips();
const take = (next: () => PlaylistItem, count: number) => Array.from({ length: count }, next);

test("the call-centre playlist is seeded: the same seed plays the same audio", () => {
  const describe = (items: PlaylistItem[]) => items.map((i) => `${i.clip.id}+${i.gapFrames}`).join(" ");
  const a = describe(take(callCentrePlaylist(clips, mulberry32(7)), 40));
  assert.equal(describe(take(callCentrePlaylist(clips, mulberry32(7)), 40)), a);
  assert.notEqual(describe(take(callCentrePlaylist(clips, mulberry32(8)), 40)), a);
});

test("the call-centre playlist talks about 40% of the time, with silences of 1–6 s", () => {
  for (const seed of [1, 2, 3]) {
    const items = take(callCentrePlaylist(clips, mulberry32(seed)), 300);
    const ratio = talkRatioOf(items);
    assert.ok(Math.abs(ratio - CALL_CENTRE.talkRatio) < 0.02, `seed ${seed}: talk ratio ${ratio}`);
    for (const { gapFrames } of items) assert.ok(gapFrames * FRAME_MS >= CALL_CENTRE.minSilenceMs, `gap ${gapFrames}`);
    assert.equal(new Set(items.map((i) => i.clip.id)).size, clips.length, "every clip plays");
  }
});

test("a burst stream plays its file first; a steady one after a 15 s warm-up on another file", () => {
  const files = burstFiles(clips, 1, 3);
  assert.notEqual(files.warmup.id, files.measured.id);
  assert.deepEqual(burstFiles(clips, 1, 3), files);
  const burst = burstPlaylist("burst", files);
  assert.equal(burst().clip, files.measured);
  assert.equal(burst().clip.frames.length, 0, "then silence");
  const steady = burstPlaylist("steady", files);
  const warmup = steady();
  assert.equal(warmup.clip, files.warmup);
  assert.equal(clipMs(warmup.clip) + warmup.gapFrames * FRAME_MS, measuredStartMs("steady", files.warmup));
  assert.equal(measuredStartMs("steady", files.warmup), 15_000);
  assert.equal(steady().clip, files.measured);
  assert.equal(measuredStartMs("burst", files.warmup), 0);
});
