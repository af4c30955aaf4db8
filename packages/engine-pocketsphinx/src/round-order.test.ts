import assert from "node:assert/strict";
import { test } from "node:test";
import { roundOrder } from "./round-order.js";

const stream = (name: string, batch: boolean, work: "none" | "audio" | "finishing") => ({
  name,
  batch,
  hasWork: work !== "none",
  finishing: work === "finishing",
});
const names = (turns: readonly { name: string }[]) => turns.map((s) => s.name);

test("live streams finishing an utterance go first, then the other live streams, each in opening order", () => {
  const streams = [stream("a", false, "audio"), stream("b", false, "finishing"), stream("c", false, "none")];
  assert.deepEqual(names(roundOrder(streams, 0).turns), ["b", "a", "c"]);
});

test("while a live stream has work, the batch streams take one turn together, in rotation", () => {
  const streams = [
    stream("file1", true, "audio"),
    stream("live", false, "audio"),
    stream("file2", true, "audio"),
    stream("file3", true, "none"),
    stream("file4", true, "finishing"),
  ];
  const rounds = [0, 1, 2, 3].map((cursor) => roundOrder(streams, cursor));
  // file3 has nothing queued; file4 is finishing, so it leads the rotation.
  assert.deepEqual(
    rounds.map((round) => names(round.turns)),
    [
      ["live", "file4"],
      ["live", "file1"],
      ["live", "file2"],
      ["live", "file4"],
    ],
  );
  assert.ok(rounds.every((round) => round.deferred === 2));
});

test("with no live work, every batch stream takes its turn", () => {
  const streams = [stream("file1", true, "audio"), stream("live", false, "none"), stream("file2", true, "audio")];
  const round = roundOrder(streams, 7);
  assert.deepEqual(names(round.turns), ["live", "file1", "file2"]);
  assert.equal(round.deferred, 0);
});
