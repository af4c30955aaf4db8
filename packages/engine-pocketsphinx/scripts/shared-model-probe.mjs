// Probe for sharing the read-only model parts between the PocketSphinx decoders of one process
// (docs/design/shared-model.md): where a decoder's ~95 MB goes, and whether decoders that share the
// language model (and, optionally, the dictionary) decode exactly as a normally created decoder.
//
//   npm run build && cd packages/engine-pocketsphinx && node scripts/shared-model-probe.mjs \
//       [--lm=borrow|read] [--share-dict | --prune-dict] [--breakdown] [--extra=3] [--files=3]
//
//   --lm=borrow   (default) the shared decoders use the normal decoder's own n-gram model, taken out of
//                 its search (ps_get_lm "_default" → ngram_model_set_lookup "default"): one LM in the process.
//   --lm=read     the LM is read once more with ngram_model_read(normal's config, path, AUTO, normal's
//                 logmath) and shared by the extra decoders (the normal decoder keeps its own copy).
//   --share-dict  also share the dictionary and dict2pid: the extra decoders are created with a
//                 one-word dictionary, whose dict_t / dict2pid_t are then replaced through the
//                 ps_decoder_t layout (no public setter exists) by retained ones of the normal decoder.
//   --prune-dict  the extra decoders load a dictionary cut down to the LM's words (see prunedDict).
//   --breakdown   first measure the parts of one decoder (acoustic model, dictionary, LM, search).
//
// Every measurement is VmRSS from /proc/self/status after malloc_trim(0) (raw value in parentheses).
// Decoding: each WAV is one stream and one utterance (ps_start_stream, ps_start_utt, 320-sample
// ps_process_raw blocks, ps_end_utt); compared are the hypothesis, its score and every segment's
// word, frames, posterior, acoustic and LM score. Pass 1: each shared decoder alone, against the
// normal decoder's pass 1; pass 2: the shared decoders interleaved block by block (the shared LM trie
// keeps a one-entry history cache, so interleaving is the case that would show cross-talk), against
// the normal decoder's pass 2 (CMN and noise estimates carry across streams, so passes differ).

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import koffi from "koffi";
import { loadLibrary } from "../dist/binding.js";

const opts = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k, v ?? true];
  }),
);
const LM_MODE = opts.lm ?? "borrow";
const SHARE_DICT = Boolean(opts["share-dict"]);
const EXTRA = Number(opts.extra ?? 3);
const N_FILES = Number(opts.files ?? 3);

const MODEL = "/usr/share/pocketsphinx/model/en-us";
const LM_PATH = `${MODEL}/en-us.lm.bin`;
const ARGS = {
  hmm: `${MODEL}/en-us`,
  lm: LM_PATH,
  dict: `${MODEL}/cmudict-en-us.dict`,
  fwdflat: "no",
  vad_postspeech: 20,
  maxhmmpf: 3000,
  topn: 2,
};
const BLOCK = 320;
const NGRAM_AUTO = 0;
/** PS_DEFAULT_SEARCH (ps_search.h): the search ps_init makes for -lm. */
const SEARCH = "_default";
/** pocketsphinx_internal.h struct ps_decoder_s (LP64): config @0, refcount @8, acmod @16, dict @24, d2p @32, lmath @40. */
const PS = { dict: 24, d2p: 32, lmath: 40 };

// loadLibrary binds the basics and turns the library's log off (err_set_logfp(NULL)) before any ps_init.
const api = loadLibrary();
// binding.ts registers the opaque ngram_model_t type.
const sb = koffi.load("libsphinxbase.so.3");
const ps = koffi.load("libpocketsphinx.so.3");
const x = {
  ps_get_config: ps.func("cmd_ln_t *ps_get_config(ps_decoder_t *ps)"),
  ps_set_lm: ps.func("int ps_set_lm(ps_decoder_t *ps, const char *name, ngram_model_t *lm)"),
  ps_set_search: ps.func("int ps_set_search(ps_decoder_t *ps, const char *name)"),
  ps_get_search: ps.func("const char *ps_get_search(ps_decoder_t *ps)"),
  ps_get_lm: ps.func("ngram_model_t *ps_get_lm(ps_decoder_t *ps, const char *name)"),
  dict_retain: ps.func("void *dict_retain(void *d)"),
  dict_free: ps.func("int dict_free(void *d)"),
  dict2pid_retain: ps.func("void *dict2pid_retain(void *d2p)"),
  dict2pid_free: ps.func("int dict2pid_free(void *d2p)"),
  ngram_model_read: sb.func(
    "ngram_model_t *ngram_model_read(cmd_ln_t *config, const char *file, int type, logmath_t *lmath)",
  ),
  ngram_model_retain: sb.func("ngram_model_t *ngram_model_retain(ngram_model_t *m)"),
  ngram_model_free: sb.func("int ngram_model_free(ngram_model_t *m)"),
  ngram_model_get_counts: sb.func("const uint32_t *ngram_model_get_counts(ngram_model_t *m)"),
  ngram_word: sb.func("const char *ngram_word(ngram_model_t *m, int32_t wid)"),
  ngram_model_set_lookup: sb.func("ngram_model_t *ngram_model_set_lookup(ngram_model_t *set, const char *name)"),
  // With _Out_, koffi copies the scores back (binding.ts passes null for them).
  ps_get_hyp: ps.func("const char *ps_get_hyp(ps_decoder_t *ps, _Out_ int32_t *out_best_score)"),
  ps_seg_prob: ps.func(
    "int32_t ps_seg_prob(ps_seg_t *seg, _Out_ int32_t *ascr, _Out_ int32_t *lscr, _Out_ int32_t *lback)",
  ),
  logmath_retain: sb.func("logmath_t *logmath_retain(logmath_t *lmath)"),
  logmath_free: sb.func("int logmath_free(logmath_t *lmath)"),
};

function rss() {
  const status = (f) => Number(readFileSync("/proc/self/status", "utf8").match(new RegExp(`${f}:\\s+(\\d+)`))[1]);
  const raw = status("VmRSS");
  api.malloc_trim?.(0);
  // Pss counts a file page mapped twice (each decoder mmaps sendump/mdef itself) once.
  const pss = Number(readFileSync("/proc/self/smaps_rollup", "utf8").match(/^Pss:\s+(\d+)/m)[1]);
  return { kb: status("VmRSS"), raw, anon: status("RssAnon"), file: status("RssFile"), pss };
}
const mb = (kb) => (kb / 1024).toFixed(1);
let last = rss();
function mark(label) {
  const now = rss();
  console.log(
    `  ${label.padEnd(58)} RSS ${mb(now.kb).padStart(6)} MB (raw ${mb(now.raw)})  Δ ${mb(now.kb - last.kb).padStart(6)} MB  [anon ${mb(now.anon)}, file ${mb(now.file)}, Pss Δ ${mb(now.pss - last.pss)}]`,
  );
  const delta = now.kb - last.kb;
  last = now;
  return delta;
}

function config(args) {
  const argv = [];
  for (const [k, v] of Object.entries(args)) argv.push(`-${k}`, String(v));
  const c = api.cmd_ln_parse_r(null, api.ps_args(), argv.length, argv, 1);
  if (!c) throw new Error(`bad args ${argv.join(" ")}`);
  return c;
}
function init(args) {
  const c = config(args);
  const d = api.ps_init(c);
  api.cmd_ln_free_r(c);
  if (!d) throw new Error("ps_init failed");
  return d;
}
const { lm: _lm, ...NO_LM } = ARGS;
const tmp = mkdtempSync(join(tmpdir(), "shared-model-"));
const TINY_DICT = join(tmp, "tiny.dict");
writeFileSync(TINY_DICT, "a AH\n");

/** A decoder made the shared way: no -lm at ps_init, then ps_set_lm with the shared model. */
function sharedDecoder(lm, normal, label) {
  const d = init(SHARE_DICT ? { ...NO_LM, dict: TINY_DICT } : PRUNED_DICT ? { ...NO_LM, dict: PRUNED_DICT } : NO_LM);
  if (SHARE_DICT) {
    // Layout check before writing: lmath @40 must be what ps_get_logmath returns, dict/d2p non-null.
    for (const p of [d, normal]) {
      const ok =
        koffi.address(koffi.decode(p, PS.lmath, "void *")) === koffi.address(api.ps_get_logmath(p)) &&
        koffi.decode(p, PS.dict, "void *") !== null &&
        koffi.decode(p, PS.d2p, "void *") !== null;
      if (!ok) throw new Error("ps_decoder_t layout check failed");
    }
    // Swap in the normal decoder's dictionary and triphone map (refcounted; ps_free drops them).
    // The phone-loop search, made in ps_init before the dictionary, holds neither.
    const ownDict = koffi.decode(d, PS.dict, "void *");
    const ownD2p = koffi.decode(d, PS.d2p, "void *");
    koffi.encode(d, PS.dict, "void *", x.dict_retain(koffi.decode(normal, PS.dict, "void *")));
    koffi.encode(d, PS.d2p, "void *", x.dict2pid_retain(koffi.decode(normal, PS.d2p, "void *")));
    x.dict2pid_free(ownD2p);
    x.dict_free(ownDict);
  }
  const initMb = mark(`${label}: ps_init without -lm${SHARE_DICT ? " + shared dict" : ""}`);
  if (x.ps_set_lm(d, SEARCH, lm) < 0) throw new Error("ps_set_lm failed");
  if (x.ps_set_search(d, SEARCH) < 0) throw new Error("ps_set_search failed");
  const searchMb = mark(`${label}: ps_set_lm + ps_set_search`);
  return { d, kb: initMb + searchMb };
}

/**
 * --prune-dict: the extra decoders get a dictionary of only the words (and alternates) whose base
 * word is in the LM. The fwdtree search only ever enters LM words, so the output should not change,
 * while the per-decoder word tables and LM-set word map shrink.
 */
function prunedDict(lm) {
  const unigrams = koffi.decode(x.ngram_model_get_counts(lm), "uint32_t");
  const vocab = new Set();
  for (let w = 0; w < unigrams; w++) vocab.add(x.ngram_word(lm, w));
  const lines = readFileSync(ARGS.dict, "utf8").split("\n");
  const kept = lines.filter((line) => {
    const word = line.split(/\s/)[0];
    return word && vocab.has(word.replace(/\(\d+\)$/, ""));
  });
  const path = join(tmp, "pruned.dict");
  writeFileSync(path, `${kept.join("\n")}\n`);
  console.log(
    `  pruned dictionary: ${kept.length} of ${lines.filter((l) => l).length} entries (LM unigrams: ${unigrams})`,
  );
  return path;
}
let PRUNED_DICT;

// ---- speech ----
function readWav(path) {
  const buf = readFileSync(path);
  if (buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") throw new Error(path);
  let off = 12;
  let fmt;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === "fmt ") {
      fmt = {
        format: buf.readUInt16LE(off + 8),
        channels: buf.readUInt16LE(off + 10),
        rate: buf.readUInt32LE(off + 12),
        bits: buf.readUInt16LE(off + 22),
      };
    } else if (id === "data") {
      if (fmt?.format !== 1 || fmt.channels !== 1 || fmt.rate !== 16000 || fmt.bits !== 16) return undefined;
      const bytes = buf.subarray(off + 8, off + 8 + Math.min(size, buf.length - off - 8));
      return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~1)));
    }
    off += 8 + size + (size & 1);
  }
  return undefined;
}
const EVAL = "/work/main/test/fixtures/eval/en-16k";
const files = readdirSync(EVAL)
  .filter((f) => f.endsWith(".wav"))
  .sort()
  .map((f) => ({ name: f, pcm: readWav(join(EVAL, f)) }))
  .filter((f) => f.pcm)
  .slice(0, N_FILES);

function result(d) {
  const score = [0];
  const hyp = x.ps_get_hyp(d, score) ?? "";
  const segs = [];
  const sf = [0];
  const ef = [0];
  const ascr = [0];
  const lscr = [0];
  const lback = [0];
  let seg = api.ps_seg_iter(d);
  while (seg) {
    api.ps_seg_frames(seg, sf, ef);
    const post = x.ps_seg_prob(seg, ascr, lscr, lback);
    segs.push(`${api.ps_seg_word(seg)}@${sf[0]}-${ef[0]}:${post}/${ascr[0]}/${lscr[0]}/${lback[0]}`);
    seg = api.ps_seg_next(seg);
  }
  return { hyp, score: score[0], segs };
}
const same = (a, b) => a.hyp === b.hyp && a.score === b.score && a.segs.join(" ") === b.segs.join(" ");

/** Decode every file with each decoder; interleaved: all decoders advance block by block together. */
function decodeAll(decoders, interleaved) {
  const out = decoders.map(() => []);
  for (const { pcm } of files) {
    for (const d of decoders) {
      api.ps_start_stream(d);
      if (api.ps_start_utt(d) < 0) throw new Error("ps_start_utt");
    }
    const feed = (d, at) => {
      const block = pcm.subarray(at, Math.min(pcm.length, at + BLOCK));
      if (api.ps_process_raw(d, block, block.length, 0, 0) < 0) throw new Error("ps_process_raw");
    };
    if (interleaved) {
      for (let at = 0; at < pcm.length; at += BLOCK) for (const d of decoders) feed(d, at);
    } else {
      for (const d of decoders) for (let at = 0; at < pcm.length; at += BLOCK) feed(d, at);
    }
    decoders.forEach((d, i) => {
      api.ps_end_utt(d);
      out[i].push(result(d));
    });
  }
  return out;
}

// ---- breakdown of one decoder ----
if (opts.breakdown) {
  console.log("breakdown of one decoder (each step in this process, one after another):");
  last = rss();
  const tiny = init({ ...NO_LM, dict: TINY_DICT });
  const acmod = mark("acoustic model (+ 1-word dict, phone loop): ps_init");
  const full = init(NO_LM);
  const noLm = mark("acoustic model + full dict + dict2pid: ps_init without -lm");
  const lmath = api.ps_get_logmath(full);
  const lm = x.ngram_model_read(x.ps_get_config(full), LM_PATH, NGRAM_AUTO, lmath);
  const lmMb = mark("n-gram model: ngram_model_read en-us.lm.bin");
  x.ps_set_lm(tiny, SEARCH, lm);
  const searchTiny = mark("ngram search over the 1-word dict: ps_set_lm (LM set, bp table)");
  x.ps_set_lm(full, SEARCH, lm);
  x.ps_set_search(full, SEARCH);
  const search = mark("ngram search over the full dict: ps_set_lm (+ lextree, word tables)");
  console.log(
    `  => acmod ~${mb(acmod)} MB, dict+d2p ~${mb(noLm - acmod)} MB, LM ~${mb(lmMb)} MB, search ~${mb(search)} MB` +
      ` (of which ~${mb(searchTiny)} MB does not grow with the dictionary)`,
  );
  x.ngram_model_free(lm);
  api.ps_free(full);
  api.ps_free(tiny);
  mark("freed");
  console.log();
}

// ---- the probe ----
console.log(
  `lm=${LM_MODE} share-dict=${SHARE_DICT} prune-dict=${Boolean(opts["prune-dict"])} extra decoders=${EXTRA}; files: ${files.map((f) => f.name).join(", ")}`,
);
last = rss();
mark("base (library loaded)");
const normal = init(ARGS);
const normalMb = mark("normal decoder (ps_init with -lm)");
// A decoder's CMN and noise estimate carry from one stream to the next, so results are compared at
// equal history: pass 1 = a decoder's first decode of the files, pass 2 = its second.
const reference = decodeAll([normal], false)[0];
const reference2 = decodeAll([normal], false)[0];
mark("normal decoder after two passes (the references)");

// The shared LM and the logmath it points to. ngram_model_t keeps a raw logmath pointer (no retain),
// so the owner of the shared LM retains the logmath itself and frees it after the LM.
const lmath = x.logmath_retain(api.ps_get_logmath(normal));
let sharedLm;
if (LM_MODE === "read") {
  sharedLm = x.ngram_model_read(x.ps_get_config(normal), LM_PATH, NGRAM_AUTO, lmath);
  if (!sharedLm) throw new Error("ngram_model_read failed");
  mark("shared LM: ngram_model_read (normal's config + logmath)");
} else {
  // ps_get_lm gives the search's LM set; ngram_search_init names its one model "default".
  const set = x.ps_get_lm(normal, SEARCH);
  const inner = set && x.ngram_model_set_lookup(set, "default");
  if (!inner) throw new Error("no LM named default in the normal decoder's search");
  sharedLm = x.ngram_model_retain(inner);
  mark("shared LM: retained from normal (ps_get_lm + set_lookup)");
}

if (opts["prune-dict"]) {
  if (SHARE_DICT) throw new Error("--prune-dict and --share-dict exclude each other");
  PRUNED_DICT = prunedDict(sharedLm);
  last = rss();
}
const extra = [];
const extraMb = [];
for (let i = 0; i < EXTRA; i++) {
  const { d, kb } = sharedDecoder(sharedLm, normal, `shared decoder ${i + 1}`);
  extra.push(d);
  extraMb.push(kb);
}
// The decoders hold their own references now (ngram_model_set_init retains); drop ours.
x.ngram_model_free(sharedLm);

const alone = decodeAll(extra, false);
mark("after decoding with the shared decoders");
// The normal decoder goes first: the LM, dictionary and dict2pid it shares live on by their
// refcounts, the LM's logmath by the reference taken above. Pass 2 runs on what is left.
api.ps_free(normal);
mark("normal decoder freed");
const together = decodeAll(extra, true);
mark("after interleaved decoding (pass 2, shared decoders block by block)");

let identical = true;
files.forEach((f, j) => {
  const ref = reference[j];
  console.log(`\n${f.name}: "${ref.hyp}" score ${ref.score}, ${ref.segs.length} segments`);
  alone.forEach((r, i) => {
    const ok = same(r[j], ref);
    identical &&= ok;
    console.log(`  shared ${i + 1} alone:       ${ok ? "identical" : `DIFFERENT "${r[j].hyp}" ${r[j].score}`}`);
  });
  together.forEach((r, i) => {
    const ok = same(r[j], reference2[j]);
    identical &&= ok;
    console.log(
      `  shared ${i + 1} interleaved: ${ok ? "identical" : `DIFFERENT "${r[j].hyp}" ${r[j].score}`}  (pass 2: "${reference2[j].hyp}")`,
    );
  });
  if (opts.verbose) console.log(`  segments: ${ref.segs.join(" ")}`);
});

const avg = extraMb.reduce((a, b) => a + b, 0) / Math.max(1, extraMb.length);
console.log(
  `\nat init: normal decoder ${mb(normalMb)} MB; shared decoders ${extraMb.map(mb).join(", ")} MB (mean ${mb(avg)} MB); ` +
    `1 normal + ${EXTRA} shared = ${mb(normalMb + extraMb.reduce((a, b) => a + b, 0))} MB (${EXTRA + 1} normal ≈ ${mb((EXTRA + 1) * normalMb)} MB)`,
);
console.log(`output identical to the normal decoder: ${identical ? "YES" : "NO"}`);

// Freeing: any decoder order works (LM, dict, d2p are refcounted); the logmath goes last.
for (const d of extra) api.ps_free(d);
x.logmath_free(lmath);
mark("all freed");
process.exitCode = identical ? 0 : 1;
