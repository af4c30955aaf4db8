/**
 * The library's log is one process-wide FILE that sphinxbase swaps without a lock; with `-logfn`,
 * each ps_init fclosed the FILE that decoders on other threads were writing to (heap corruption,
 * issue 13). Decoders must leave it unset, so that no FILE exists for anyone to close.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import koffi from "koffi";
import { DEFAULT_LIBRARY_PATHS, Decoder } from "./binding.js";
import { DEFAULT_MODEL_DIR, PocketSphinxEngine } from "./engine.js";

const errGetLogfp = koffi.load(DEFAULT_LIBRARY_PATHS.sphinxbase).func("void *err_get_logfp()");

test("decoders on the engine's threads leave the library's log FILE unset", async () => {
  const engine = new PocketSphinxEngine({ workers: 2 });
  try {
    await engine.load();
    const stream = await engine.openStream({ language: "en", model: "pocketsphinx-en-us", wordTimestamps: false });
    stream.push(new Int16Array(16_000));
    await stream.end();
    assert.equal(errGetLogfp(), null);
  } finally {
    await engine.close();
  }
});

test("a decoder refuses -logfn", () => {
  const model = DEFAULT_MODEL_DIR;
  assert.throws(
    () =>
      new Decoder({
        hmm: `${model}/en-us`,
        lm: `${model}/en-us.lm.bin`,
        dict: `${model}/cmudict-en-us.dict`,
        logfn: "/dev/null",
      }),
    /-logfn/,
  );
});
