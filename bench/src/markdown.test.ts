import assert from "node:assert/strict";
import { test } from "node:test";
import { loadAverages, ms, msList, table, werCell } from "./markdown.js";

test("table: a header row, a --- row per column, a row per entry, and a `|` in a cell escaped", () => {
  assert.equal(
    table(
      ["setting", "WER", ""],
      [
        ["`-topn 2`", "27.5%", ""],
        ["a | b", "—", "**fast**"],
      ],
    ),
    ["| setting | WER |  |", "| --- | --- | --- |", "| `-topn 2` | 27.5% |  |", "| a \\| b | — | **fast** |"].join(
      "\n",
    ),
  );
});

test("latencies: rounded, '—' when missing, 'lost' when a final never came", () => {
  assert.deepEqual(
    [264.4, -310.6, undefined, null, Number.NaN, Number.POSITIVE_INFINITY].map((v) => ms(v)),
    ["264 ms", "-311 ms", "—", "—", "—", "lost"],
  );
  assert.equal(ms(18.64, 1), "18.6 ms");
  assert.equal(msList([0.56, 18.6, Number.POSITIVE_INFINITY], 1), "0.6 ms / 18.6 ms / lost");
});

test("WER cells and load averages", () => {
  assert.equal(werCell({ errors: 55, words: 200, wer: 0.275 }), "27.5% (55/200)");
  assert.equal(werCell({ errors: 0, words: 0, wer: Number.NaN }), "—");
  assert.equal(loadAverages([0.444, 1.1, 1.385]), "0.44 / 1.10 / 1.39");
});
