// Probe for issue 15 item 3 (docs/design/decoder-state.md): which PocketSphinx decoder state carries
// from one utterance to the next, and does priming a fresh decoder with a snapshot of it reproduce a
// continued stream word for word?
//
//   npm run build && node packages/engine-pocketsphinx/scripts/state-probe.mjs [--fast] [--pairs] [--resume]
//
// Decoding follows DecodingSession's internal-endpointing path: 320-sample blocks, an utterance ends
// when ps_get_in_speech drops after speech (ps_end_utt, then ps_start_utt at once), frames are
// stream frames from ps_start_stream. Native state is read and written through the struct layouts of
// the installed Debian build (sphinxbase 2c132b3 / pocketsphinx e7d059fe, 2016; offsets below).

import { loadEvalSet, loadPcm } from "@earshot/test-support";
import koffi from "koffi";
import { baseWord, isFillerToken, loadLibrary } from "../dist/binding.js";

const argv = new Set(process.argv.slice(2));
const FAST = argv.has("--fast");
const MODEL = "/usr/share/pocketsphinx/model/en-us";
const ARGS = {
  hmm: `${MODEL}/en-us`,
  lm: `${MODEL}/en-us.lm.bin`,
  dict: `${MODEL}/cmudict-en-us.dict`,
  fwdflat: "no",
  vad_postspeech: 20,
  ...(FAST ? { maxhmmpf: 3000, topn: 2 } : {}),
};
const BLOCK = 320;

const api = loadLibrary();
const ps = koffi.load("libpocketsphinx.so.3");
const ps_get_fe = ps.func("void *ps_get_fe(ps_decoder_t *ps)");

// sphinxbase cmn.h: cmn_t { float *cmn_mean, *cmn_var, *sum; int32 nframe, veclen; }
const CMN = { mean: 0, sum: 16, nframe: 24, veclen: 28 };
// feat.h feat_t: cmn_t *cmn_struct at 88 (LP64), as binding.ts uses.
const FEAT_CMN_STRUCT = 88;
// fe_internal.h struct fe_s (LP64): frame_shift int16 @18, frame_size int16 @24,
// noise_stats_t *noise_stats @96.
const FE = { frameShift: 18, frameSize: 24, noiseStats: 96 };
// fe_noise.c struct noise_stats_s: powspec_t(double) *power @0, *noise @8, *floor @16, *peak @24;
// uint8 undefined @32; uint32 num_filters @36; double slow_peak_sum @40.
const NS = { power: 0, noise: 8, floor: 16, peak: 24, undefined: 32, numFilters: 36, slowPeakSum: 40 };

function ptr(base, offset) {
  return koffi.decode(base, offset, "void *");
}

class ProbeDecoder {
  constructor(extra = {}) {
    const args = { ...ARGS, ...extra };
    const list = [];
    for (const [k, v] of Object.entries(args)) list.push(`-${k}`, String(v));
    const config = api.cmd_ln_parse_r(null, api.ps_args(), list.length, list, 1);
    this.ps = api.ps_init(config);
    api.cmd_ln_free_r(config);
    if (!this.ps) throw new Error("ps_init failed");
    this.logmath = api.ps_get_logmath(this.ps);
    this.cmn = ptr(api.ps_get_feat(this.ps), FEAT_CMN_STRUCT);
    this.veclen = koffi.decode(this.cmn, CMN.veclen, "int32_t");
    const fe = ps_get_fe(this.ps);
    const shift = koffi.decode(fe, FE.frameShift, "int16_t");
    const size = koffi.decode(fe, FE.frameSize, "int16_t");
    this.noise = ptr(fe, FE.noiseStats);
    this.nfilt = koffi.decode(this.noise, NS.numFilters, "uint32_t");
    this.initial = undefined;
    if (this.veclen !== 13 || shift !== 160 || size !== 410 || this.nfilt !== 25) {
      throw new Error(`layout check failed: veclen ${this.veclen} shift ${shift} size ${size} nfilt ${this.nfilt}`);
    }
    this.initial = this.snapshot();
  }

  free() {
    api.ps_free(this.ps);
  }

  snapshot() {
    const c = this.cmn;
    const n = this.noise;
    const doubles = (off) => koffi.decode(ptr(n, off), "double", this.nfilt);
    return {
      cmn: {
        mean: koffi.decode(ptr(c, CMN.mean), "float", this.veclen),
        sum: koffi.decode(ptr(c, CMN.sum), "float", this.veclen),
        nframe: koffi.decode(c, CMN.nframe, "int32_t"),
      },
      noise: {
        power: doubles(NS.power),
        noise: doubles(NS.noise),
        floor: doubles(NS.floor),
        peak: doubles(NS.peak),
        undefined: koffi.decode(n, NS.undefined, "uint8_t"),
        slowPeakSum: koffi.decode(n, NS.slowPeakSum, "double"),
      },
      // fe_s.num_processed_samps (size_t @56): the library's stream clock, samples since ps_start_stream.
      samples: koffi.decode(ps_get_fe(this.ps), 56, "uint64_t"),
    };
  }

  /**
   * parts: "mean" (only the mean, as -cmninit does: sum 0, nframe 0), "cmnset" (the mean as the
   * public cmn_live_set does: sum = 500 × mean, nframe = 500), "cmn" (mean, sum, nframe exactly),
   * "noise" (the front end's noise / VAD estimate).
   */
  prime(snap, parts) {
    const c = this.cmn;
    const v = this.veclen;
    if (parts.has("mean") || parts.has("cmnset") || parts.has("cmn")) {
      koffi.encode(ptr(c, CMN.mean), "float", snap.cmn.mean, v);
      let sum = new Array(v).fill(0);
      let nframe = 0;
      if (parts.has("cmnset")) {
        sum = snap.cmn.mean.map((m) => m * 500);
        nframe = 500;
      }
      if (parts.has("cmn")) {
        sum = snap.cmn.sum;
        nframe = snap.cmn.nframe;
      }
      koffi.encode(ptr(c, CMN.sum), "float", sum, v);
      koffi.encode(c, CMN.nframe, "int32_t", nframe);
    }
    if (parts.has("clock")) koffi.encode(ps_get_fe(this.ps), 56, "uint64_t", snap.samples);
    if (parts.has("noise")) {
      const n = this.noise;
      for (const key of ["power", "noise", "floor", "peak"]) {
        koffi.encode(ptr(n, NS[key]), "double", snap.noise[key], this.nfilt);
      }
      koffi.encode(n, NS.undefined, "uint8_t", snap.noise.undefined);
      koffi.encode(n, NS.slowPeakSum, "double", snap.noise.slowPeakSum);
    }
  }

  words() {
    const out = [];
    const sf = [0];
    const ef = [0];
    let seg = api.ps_seg_iter(this.ps);
    while (seg) {
      const token = api.ps_seg_word(seg);
      if (!isFillerToken(token)) {
        api.ps_seg_frames(seg, sf, ef);
        out.push({ word: baseWord(token), sf: sf[0], ef: ef[0] });
      }
      seg = api.ps_seg_next(seg);
    }
    return out;
  }

  /**
   * Decode `pcm` as one stream (ps_start_stream first, then `prime`), DecodingSession-style.
   * Returns finals: { atSample (block end where the final was emitted), words (stream frames), snap }.
   */
  decodeStream(pcm, prime) {
    // A fresh decoder's state: the initial CMN (ps_start_stream keeps CMN, see the design note).
    this.prime(this.initial, new Set(["cmn"]));
    api.ps_start_stream(this.ps);
    if (prime) prime(this);
    api.ps_start_utt(this.ps);
    const finals = [];
    let started = false;
    const finish = (at) => {
      api.ps_end_utt(this.ps);
      finals.push({ atSample: at, words: this.words(), snap: this.snapshot() });
      api.ps_start_utt(this.ps);
      started = false;
    };
    let at = 0;
    for (; at < pcm.length; at += BLOCK) {
      const block = pcm.subarray(at, Math.min(pcm.length, at + BLOCK));
      api.ps_process_raw(this.ps, block, block.length, 0, 0);
      if (api.ps_get_in_speech(this.ps)) started = true;
      else if (started) finish(at + block.length);
    }
    if (started) finish(pcm.length);
    api.ps_end_utt(this.ps);
    return finals;
  }
}

const text = (finals) =>
  finals
    .map((f) => f.words.map((w) => w.word).join(" "))
    .filter((t) => t)
    .join(" | ");
/**
 * Words with frames relative to the first word: the library's stream frame counter is not an exact
 * sample count / 160 across utterances (it drifts by fractions of the VAD's bookkeeping), so runs that
 * start their stream at different samples are compared by words, final boundaries and relative times.
 */
const timed = (finals) => {
  const first = finals.find((f) => f.words.length > 0)?.words[0]?.sf ?? 0;
  return finals
    .map((f) => f.words.map((w) => `${w.word}@${Math.round(w.sf - first)}-${Math.round(w.ef - first)}`).join(" "))
    .join(" | ");
};

/** Words with the library's own stream frames (with "clock" primed they should be stream-absolute). */
const absolute = (finals) => finals.map((f) => f.words.map((w) => `${w.word}@${w.sf}-${w.ef}`).join(" ")).join(" | ");

const clips = loadEvalSet().map((u) => ({ id: u.id, pcm: loadPcm(u.path) }));
function concat(list) {
  const n = list.reduce((s, c) => s + c.pcm.length, 0);
  const out = new Int16Array(n);
  let o = 0;
  for (const c of list) {
    out.set(c.pcm, o);
    o += c.pcm.length;
  }
  return out;
}

console.log(`# decoder args: ${JSON.stringify(ARGS)}`);
const fresh = new ProbeDecoder();
const init = fresh.snapshot();
console.log(
  `# initial CMN mean (-cmninit of feat.params): ${init.cmn.mean.map((x) => x.toFixed(2)).join(",")} nframe ${init.cmn.nframe}`,
);
console.log(`# initial noise stats undefined=${init.noise.undefined}`);

if (argv.has("--pairs")) {
  // Part 1: clip B alone vs after clip A, then primed with the state after A.
  const PAIRS = [
    ["jfk-ask-not", "ls-1089-134686-0000"],
    ["ls-1089-134686-0002", "ps-goforward"],
    ["ps-librivox-0870", "ls-1221-135766-0001"],
    ["ls-1089-134691-0000", "ps-cards-005"],
    ["ps-forever-input2", "ps-librivox-0920"],
    ["ls-1221-135766-0001", "jfk-ask-not"],
  ];
  for (const [a, b] of PAIRS.filter(([x]) => !process.env.PAIR || x === process.env.PAIR)) {
    const A = clips.find((c) => c.id === a);
    const B = clips.find((c) => c.id === b);
    const dec0 = new ProbeDecoder();
    const alone = dec0.decodeStream(B.pcm);
    dec0.free();
    // Continued: A then B in one stream on one decoder. A's audio is decoded to its end (last final),
    // the state is read there, then B follows as the next utterances of the same stream.
    const dec = new ProbeDecoder();
    dec.decodeStream(A.pcm);
    const afterA = dec.snapshot();
    // Continue on the same decoder without ps_start_stream (the stream goes on): a new utterance.
    const cont = continueOn(dec, B.pcm);
    dec.free();
    const rows = [];
    for (const parts of [["mean"], ["cmnset"], ["cmn"], ["noise"], ["cmn", "noise"], ["cmn", "noise", "clock"]]) {
      const d = new ProbeDecoder();
      const set = new Set(parts);
      const primed = d.decodeStream(B.pcm, (x) => x.prime(afterA, set));
      d.free();
      rows.push([parts.join("+"), timed(primed) === timed(cont), text(primed)]);
      if (process.env.DEBUG && parts.length === 2) rows.push(["timed", false, timed(primed)]);
    }
    console.log(`\n## ${a} → ${b}`);
    console.log(`  B alone          : ${text(alone)}`);
    console.log(`  B after A        : ${text(cont)}`);
    console.log(`  alone == after A : ${timed(alone) === timed(cont)}`);
    console.log(
      `  CMN after A: mean[0..3] ${afterA.cmn.mean
        .slice(0, 4)
        .map((x) => x.toFixed(3))
        .join(",")} nframe ${afterA.cmn.nframe}; noise undefined=${afterA.noise.undefined}`,
    );
    if (process.env.DEBUG) console.log(`  timed after A : ${timed(cont)}\n  timed alone   : ${timed(alone)}`);
    for (const [parts, same, t] of rows) console.log(`  primed ${parts.padEnd(10)}: exact=${same}  ${t}`);
  }
}

/** Decode `pcm` on `dec` as the continuation of its stream (no ps_start_stream): frames from 0 of B. */
function continueOn(dec, pcm) {
  // Frame numbers continue from A; to compare with a fresh stream, shift by the frames A consumed.
  api.ps_start_utt(dec.ps);
  const finals = [];
  let started = false;
  let at = 0;
  const base = frameOffset(dec);
  const finish = (end) => {
    api.ps_end_utt(dec.ps);
    finals.push({ atSample: end, words: dec.words().map((w) => ({ ...w, sf: w.sf - base, ef: w.ef - base })) });
    api.ps_start_utt(dec.ps);
    started = false;
  };
  for (; at < pcm.length; at += BLOCK) {
    const block = pcm.subarray(at, Math.min(pcm.length, at + BLOCK));
    api.ps_process_raw(dec.ps, block, block.length, 0, 0);
    if (api.ps_get_in_speech(dec.ps)) started = true;
    else if (started) finish(at + block.length);
  }
  if (started) finish(pcm.length);
  api.ps_end_utt(dec.ps);
  return finals;
}

/** fe_s.num_processed_samps (size_t @56) / frame shift: the stream frame the next utterance counts from. */
function frameOffset(dec) {
  const fe = ps_get_fe(dec.ps);
  return Number(koffi.decode(fe, 56, "uint64_t")) / 160;
}

if (argv.has("--resume")) {
  // Part 2: one long stream (every eval clip back to back, 77 s); at EVERY final, start a fresh
  // decoder at that final's sample with the snapshot taken there, and compare all later finals.
  const order = argv.has("--shuffle") ? [...clips].reverse() : clips;
  const stream = concat(order);
  const dec = new ProbeDecoder();
  const full = dec.decodeStream(stream);
  dec.free();
  console.log(
    `\n## resume at every final: ${order.length} clips, ${(stream.length / 16000).toFixed(1)} s, ${full.length} finals`,
  );
  const variants = (process.env.VARIANTS ?? "none,mean,cmnset,cmn,noise,cmn+noise").split(",").map((v) => v.split("+"));
  const score = Object.fromEntries(variants.map((v) => [v.join("+"), { exact: 0, text: 0, firstDiff: [] }]));
  const d = new ProbeDecoder();
  for (let k = 0; k < full.length - 1; k++) {
    const at = full[k].atSample;
    const expected = full.slice(k + 1);
    for (const v of variants) {
      const set = new Set(v);
      const got = d.decodeStream(stream.subarray(at), v[0] === "none" ? undefined : (x) => x.prime(full[k].snap, set));
      const s = score[v.join("+")];
      const same = timed(got) === timed(expected);
      if (v.includes("clock") && absolute(got) === absolute(expected)) s.absolute = (s.absolute ?? 0) + 1;
      if (same) s.exact++;
      else if (process.env.DEBUG)
        console.log(`  [${v.join("+")}] after final ${k}\n    expected ${timed(expected)}\n    got      ${timed(got)}`);
      if (text(got) === text(expected)) s.text++;
      else if (s.firstDiff.length < 2)
        s.firstDiff.push({ k, expected: text(expected.slice(0, 2)), got: text(got.slice(0, 2)) });
    }
  }
  d.free();
  const n = full.length - 1;
  for (const [name, s] of Object.entries(score)) {
    console.log(
      `  ${name.padEnd(10)}: later finals identical (words+frames) at ${s.exact}/${n} resume points; same words at ${s.text}/${n}${s.absolute === undefined ? "" : `; identical absolute stream frames at ${s.absolute}/${n}`}`,
    );
    for (const diff of s.firstDiff)
      console.log(`      e.g. resume after final ${diff.k}: expected "${diff.expected}" got "${diff.got}"`);
  }
}
fresh.free();
