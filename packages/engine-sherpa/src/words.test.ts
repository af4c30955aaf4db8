import assert from "node:assert/strict";
import { test } from "node:test";
import { tokensToWords } from "./words.js";

test("BPE pieces: ▁ starts a word, the pieces after it continue it", () => {
  const words = tokensToWords(
    {
      tokens: ["▁HE", "LL", "O", "▁", "W", "ORLD"],
      timesMs: [100, 140, 180, 400, 440, 520],
      logProbs: [0, 0, 0, -1, -1, -1],
    },
    "bpe",
  );
  assert.deepEqual(
    words.map((w) => [w.word, w.startMs, w.endMs]),
    [
      ["HELLO", 100, 220],
      ["WORLD", 400, 560],
    ],
  );
  assert.equal(words[0]?.confidence, 1);
  assert.ok(Math.abs((words[1]?.confidence ?? 0) - Math.exp(-1)) < 1e-9);
});

test("CJK: every character is a word, English pieces in between are words of their own", () => {
  const words = tokensToWords(
    { tokens: ["你", "好", "▁OK", "AY", "吗"], timesMs: [0, 20, 200, 240, 400] },
    "cjkchar+bpe",
  );
  assert.deepEqual(
    words.map((w) => [w.word, w.startMs, w.endMs]),
    [
      ["你", 0, 20],
      ["好", 20, 60],
      ["OKAY", 200, 280],
      ["吗", 400, 440],
    ],
  );
});
