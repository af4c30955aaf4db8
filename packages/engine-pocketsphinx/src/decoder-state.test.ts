/**
 * The decoder state snapshot against the real library (docs/design/decoder-state.md): it round-trips,
 * and a fresh decoder primed with it continues a stream exactly as the uninterrupted decoder does.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { baseWord, isFillerToken, loadLibrary } from "./binding.js";
import { loadClip, TEST_DECODER_ARGS } from "./clips.test.helper.js";
import {
  type DecoderState,
  DecoderStateError,
  decoderStateSupported,
  primeDecoder,
  snapshotDecoderState,
} from "./decoder-state.js";

const api = loadLibrary();
const ARGS = TEST_DECODER_ARGS;
/** DecodingSession's block size with internal endpointing: 20 ms. */
const BLOCK = 320;

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

interface Final {
  /** Stream sample at the end of the block that ended the utterance. */
  readonly endSample: number;
  /** Words with the library's stream frames. */
  readonly words: string;
  readonly state: DecoderState;
}

/** A fresh `ps_decoder_t` (freed after `use`); `extra` adds or overrides decoder arguments. */
function withDecoder<T>(use: (ps: unknown) => T, extra: Record<string, string> = {}): T {
  const argv = Object.entries({ ...ARGS, ...extra }).flatMap(([name, value]) => [`-${name}`, String(value)]);
  const config = api.cmd_ln_parse_r(null, api.ps_args(), argv.length, argv, 1);
  const ps = api.ps_init(config);
  api.cmd_ln_free_r(config);
  assert.ok(ps, "ps_init failed");
  try {
    return use(ps);
  } finally {
    api.ps_free(ps);
  }
}

function words(ps: unknown): string {
  const out: string[] = [];
  const startFrame = [0];
  const endFrame = [0];
  for (let seg = api.ps_seg_iter(ps); seg; seg = api.ps_seg_next(seg)) {
    const token: string = api.ps_seg_word(seg);
    if (isFillerToken(token)) continue;
    api.ps_seg_frames(seg, startFrame, endFrame);
    out.push(`${baseWord(token)}@${startFrame[0]}-${endFrame[0]}`);
  }
  return out.join(" ");
}

/** Decode `pcm` as one stream; `state` primes the decoder right after ps_start_stream. */
function decodeStream(ps: unknown, pcm: Int16Array, state?: DecoderState): Final[] {
  api.ps_start_stream(ps);
  if (state) primeDecoder(ps, state);
  api.ps_start_utt(ps);
  const finals: Final[] = [];
  let inSpeech = false;
  const finish = (endSample: number) => {
    api.ps_end_utt(ps);
    finals.push({ endSample, words: words(ps), state: snapshotDecoderState(ps) });
    api.ps_start_utt(ps);
    inSpeech = false;
  };
  for (let at = 0; at < pcm.length; at += BLOCK) {
    const block = pcm.subarray(at, Math.min(pcm.length, at + BLOCK));
    api.ps_process_raw(ps, block, block.length, 0, 0);
    if (api.ps_get_in_speech(ps)) inSpeech = true;
    else if (inSpeech) finish(at + block.length);
  }
  if (inSpeech) finish(pcm.length);
  api.ps_end_utt(ps);
  return finals;
}

/** What a continuation must reproduce: words, frames, and where each final falls in the stream. */
const later = (finals: readonly Final[], offset: number) =>
  finals.map((f) => ({ endSample: f.endSample + offset, words: f.words }));

describe("decoder state", () => {
  test("a snapshot primed into a fresh decoder reads back unchanged, after a trip through JSON", () => {
    const pcm = loadClip("jfk-ask-not");
    const [initial, taken] = withDecoder((ps) => {
      const before = snapshotDecoderState(ps);
      decodeStream(ps, pcm);
      return [before, snapshotDecoderState(ps)];
    });
    assert.notDeepEqual(taken, initial, "decoding must move the state");
    assert.ok(taken.cmn.frames > 0 && !taken.noise.undefined && taken.processedSamples === pcm.length);
    const stored = JSON.parse(JSON.stringify(taken)) as DecoderState;
    const readBack = withDecoder((ps) => {
      api.ps_start_stream(ps);
      primeDecoder(ps, stored);
      return snapshotDecoderState(ps);
    });
    assert.deepEqual(readBack, taken);
  });

  test("a malformed state is refused before anything is written", () => {
    withDecoder((ps) => {
      const state = snapshotDecoderState(ps);
      const bad = { ...state, cmn: { ...state.cmn, mean: state.cmn.mean.slice(1) } };
      api.ps_start_stream(ps);
      assert.throws(
        () => primeDecoder(ps, bad),
        (error) => error instanceof DecoderStateError && error.code === "decoder_state_invalid",
      );
      assert.deepEqual(snapshotDecoderState(ps), state);
    });
  });

  test("a decoder whose front end does not match the known layout is refused", () => {
    // A 100 frames/s model read at 200 frames/s: frame_shift 80, not the 160 the offsets were checked with.
    withDecoder(
      (ps) => {
        assert.equal(decoderStateSupported(ps), false);
        const refused = (error: unknown) =>
          error instanceof DecoderStateError &&
          error.code === "decoder_layout_mismatch" &&
          /frameShift 80/.test(error.message);
        assert.throws(() => snapshotDecoderState(ps), refused);
      },
      { frate: "200" },
    );
    withDecoder((ps) => assert.equal(decoderStateSupported(ps), true));
  });

  test("a fresh decoder primed at a final continues the stream exactly; an unprimed one does not", (t) => {
    const stream = concat(["jfk-ask-not", "ls-1089-134686-0000", "ps-goforward"].map(loadClip));
    const full = withDecoder((ps) => decodeStream(ps, stream));
    assert.ok(full.length >= 6, `expected several finals, got ${full.length}`);
    // Resume right after finals spread over the stream (never the last: something must follow).
    const points = [0, 1, 2, 3].map((i) => Math.floor((i * (full.length - 1)) / 4));
    let unprimedDiffers = 0;
    for (const k of points) {
      const at = full[k]?.endSample ?? 0;
      const expected = later(full.slice(k + 1), 0);
      const primed = withDecoder((ps) => decodeStream(ps, stream.subarray(at), full[k]?.state));
      assert.deepEqual(later(primed, at), expected, `resuming after final ${k} (sample ${at})`);
      const unprimed = withDecoder((ps) => decodeStream(ps, stream.subarray(at)));
      const unprimedWords = unprimed.map((f) => f.words.replace(/@\S+/g, ""));
      if (unprimedWords.join("|") !== expected.map((f) => f.words.replace(/@\S+/g, "")).join("|")) unprimedDiffers++;
    }
    t.diagnostic(
      `${(stream.length / 16_000).toFixed(1)} s, ${full.length} finals; primed: identical at ${points.length}/${points.length} resume points; unprimed: different words at ${unprimedDiffers}/${points.length}`,
    );
    assert.ok(unprimedDiffers > 0, "without priming the later words should differ at some resume point");
  });
});
