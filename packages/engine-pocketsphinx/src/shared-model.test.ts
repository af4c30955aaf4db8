/**
 * Decoders that share their process's model (docs/design/shared-model.md) against the real library:
 * a decoder made by the maker thread the shared way transcribes exactly as a normally made one, also
 * after the decoder that owned the model is freed, and costs well under a whole decoder's memory.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { createNativeDecoder, DEFAULT_LIBRARY_PATHS, Decoder, loadLibrary, ModelShare } from "./binding.js";
import { EVAL_DIR, loadClip, TEST_DECODER_ARGS } from "./clips.test.helper.js";
import { DecoderMaker } from "./decoder-maker.js";

const api = loadLibrary();
const ARGS = TEST_DECODER_ARGS;
/** DecodingSession's block size with internal endpointing: 20 ms. */
const BLOCK = 320;
const CLIPS = readdirSync(EVAL_DIR)
  .filter((name) => name.endsWith(".wav"))
  .sort()
  .slice(0, 3)
  .map((name) => ({ name, samples: loadClip(name) }));

/** Each clip as one stream and one utterance: the hypothesis and every word with its frames and confidence. */
function decodeClips(decoder: Decoder) {
  return CLIPS.map(({ name, samples }) => {
    decoder.startStream();
    for (let at = 0; at < samples.length; at += BLOCK) decoder.process(samples.subarray(at, at + BLOCK));
    decoder.endUtterance();
    return { name, hypothesis: decoder.hypothesis(), words: decoder.words() };
  });
}

/** VmRSS in MB once freed memory is given back (see `bindMallocTrim`). */
function rssMb(): number {
  api.malloc_trim?.(0);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
  return kb / 1024;
}

describe("decoders sharing the model", () => {
  const makers: DecoderMaker[] = [];
  const decoders: Decoder[] = [];
  after(async () => {
    for (const decoder of decoders) decoder.free();
    for (const maker of makers) await maker.close();
  });

  test("a shared decoder transcribes exactly as a normal one, also after the owner is freed", async () => {
    const reference = new Decoder(ARGS);
    decoders.push(reference);
    const maker = new DecoderMaker(ARGS, DEFAULT_LIBRARY_PATHS);
    makers.push(maker);
    const owner = await maker.make();
    const shared = await maker.make();
    decoders.push(shared);
    assert.equal(owner.sharesModel, false);
    assert.equal(shared.sharesModel, true);

    const expected = decodeClips(reference);
    assert.ok(
      expected.some((clip) => clip.words.length > 0),
      "the clips have words",
    );
    assert.deepEqual(decodeClips(shared), expected);
    // The owner goes; the shared parts live on by their reference counts. A decoder's noise
    // estimate carries over between streams, so the second passes are compared with each other.
    owner.free();
    await maker.close();
    assert.deepEqual(decodeClips(shared), decodeClips(reference));
  });

  test("decoders made with other arguments do not share (-lw is baked into the shared LM)", () => {
    const owner = new Decoder(ARGS);
    decoders.push(owner);
    const share = ModelShare.from(owner, ARGS);
    assert.ok(share, "the layout of this library build is the expected one");
    const lent = share.lend();
    assert.ok(lent);
    const made = createNativeDecoder({ ...ARGS, lw: 9 }, DEFAULT_LIBRARY_PATHS, lent);
    assert.equal(made.shared, false);
    share.giveBack(lent);
    share.close();
    const other = new Decoder(ARGS, DEFAULT_LIBRARY_PATHS, made.address, made.shared);
    decoders.push(other);
    assert.equal(other.sharesModel, false);
  });

  test("an extra decoder costs well under a whole one (91 MB)", async (t) => {
    const maker = new DecoderMaker(ARGS, DEFAULT_LIBRARY_PATHS);
    makers.push(maker);
    decoders.push(await maker.make());
    const before = rssMb();
    const extra: Decoder[] = [];
    for (let i = 0; i < 3; i++) extra.push(await maker.make());
    decoders.push(...extra);
    const perDecoder = (rssMb() - before) / extra.length;
    assert.ok(
      extra.every((decoder) => decoder.sharesModel),
      "every extra decoder shares",
    );
    assert.ok(perDecoder < 70, `${perDecoder.toFixed(1)} MB per extra decoder`);
    t.diagnostic(`${perDecoder.toFixed(1)} MB per extra decoder; maker ${JSON.stringify(maker.stats)}`);
  });
});
