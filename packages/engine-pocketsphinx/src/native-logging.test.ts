/**
 * The library's log is one process-wide FILE that sphinxbase swaps without a lock; with `-logfn`,
 * each ps_init fclosed the FILE that decoders on other threads were writing to (heap corruption,
 * issue 13). Decoders must leave it unset, so that no FILE exists for anyone to close.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import koffi from "koffi";
import { DEFAULT_LIBRARY_PATHS, Decoder, loadLibrary } from "./binding.js";
import { DEFAULT_MODEL_DIR } from "./engine.js";

const errGetLogfp = koffi.load(DEFAULT_LIBRARY_PATHS.sphinxbase).func("void *err_get_logfp()");

// Decoding processes run exactly this: loadLibrary, then decoders (host.ts, decoder-pool.ts).
test("decoders of a loaded library leave the library's log FILE unset", () => {
  loadLibrary();
  const model = DEFAULT_MODEL_DIR;
  const decoder = new Decoder({
    hmm: `${model}/en-us`,
    lm: `${model}/en-us.lm.bin`,
    dict: `${model}/cmudict-en-us.dict`,
  });
  try {
    decoder.startUtterance();
    decoder.process(new Int16Array(16_000));
    decoder.endUtterance();
    assert.equal(errGetLogfp(), null);
  } finally {
    decoder.free();
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
