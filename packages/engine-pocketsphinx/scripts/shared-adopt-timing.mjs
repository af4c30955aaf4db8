// Times the two halves of making a decoder that shares the LM and dictionary (shared-model.md):
// the ps_init part (no -lm, one-word dict) that the maker thread can run, and the part that must run
// on the decoding thread (dict/d2p swap, ps_set_lm, ps_set_search). Also a normal ps_init for scale.
//   npm run build && node packages/engine-pocketsphinx/scripts/shared-adopt-timing.mjs [--n=4]
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import koffi from "koffi";
import { loadLibrary } from "../dist/binding.js";

const N = Number(process.argv.find((a) => a.startsWith("--n="))?.slice(4) ?? 4);
const MODEL = "/usr/share/pocketsphinx/model/en-us";
const ARGS = {
  hmm: `${MODEL}/en-us`,
  lm: `${MODEL}/en-us.lm.bin`,
  dict: `${MODEL}/cmudict-en-us.dict`,
  fwdflat: "no",
  vad_postspeech: 20,
  maxhmmpf: 3000,
  topn: 2,
};
const api = loadLibrary();
// binding.ts registers the opaque ngram_model_t type.
const ps = koffi.load("libpocketsphinx.so.3");
const sb = koffi.load("libsphinxbase.so.3");
const x = {
  ps_set_lm: ps.func("int ps_set_lm(ps_decoder_t *ps, const char *name, ngram_model_t *lm)"),
  ps_set_search: ps.func("int ps_set_search(ps_decoder_t *ps, const char *name)"),
  ps_get_lm: ps.func("ngram_model_t *ps_get_lm(ps_decoder_t *ps, const char *name)"),
  dict_retain: ps.func("void *dict_retain(void *d)"),
  dict_free: ps.func("int dict_free(void *d)"),
  dict2pid_retain: ps.func("void *dict2pid_retain(void *d2p)"),
  dict2pid_free: ps.func("int dict2pid_free(void *d2p)"),
  ngram_model_set_lookup: sb.func("ngram_model_t *ngram_model_set_lookup(ngram_model_t *set, const char *name)"),
};
const tiny = join(mkdtempSync(join(tmpdir(), "adopt-")), "tiny.dict");
writeFileSync(tiny, "a AH\n");
function init(args) {
  const argv = Object.entries(args).flatMap(([k, v]) => [`-${k}`, String(v)]);
  const c = api.cmd_ln_parse_r(null, api.ps_args(), argv.length, argv, 1);
  const d = api.ps_init(c);
  api.cmd_ln_free_r(c);
  return d;
}
const ms = (t) => (performance.now() - t).toFixed(1);
let t = performance.now();
const first = init(ARGS);
console.log(`normal ps_init (with -lm, full dict): ${ms(t)} ms`);
const lm = x.ngram_model_set_lookup(x.ps_get_lm(first, "_default"), "default");
const { lm: _, ...noLm } = ARGS;
for (let i = 0; i < N; i++) {
  t = performance.now();
  const d = init({ ...noLm, dict: tiny });
  const a = ms(t);
  t = performance.now();
  const ownDict = koffi.decode(d, 24, "void *");
  const ownD2p = koffi.decode(d, 32, "void *");
  koffi.encode(d, 24, "void *", x.dict_retain(koffi.decode(first, 24, "void *")));
  koffi.encode(d, 32, "void *", x.dict2pid_retain(koffi.decode(first, 32, "void *")));
  x.dict2pid_free(ownD2p);
  x.dict_free(ownDict);
  const b = ms(t);
  t = performance.now();
  x.ps_set_lm(d, "_default", lm);
  const c = ms(t);
  t = performance.now();
  x.ps_set_search(d, "_default");
  const e = ms(t);
  console.log(
    `shared ${i + 1}: ps_init no -lm + 1-word dict ${a} ms | dict swap ${b} ms | ps_set_lm ${c} ms | ps_set_search ${e} ms`,
  );
}

// What the pool does instead (binding.ts: ModelShare, createNativeDecoder): the maker thread makes a
// whole decoder and swaps the shared model in; the decoding thread only lends references (before)
// and adopts the address (after). Run here on one thread to time each part.
const { createNativeDecoder, Decoder, ModelShare } = await import("../dist/binding.js");
const owner = new Decoder(ARGS);
const share = ModelShare.from(owner, ARGS);
for (let i = 0; i < N; i++) {
  t = performance.now();
  const whole = createNativeDecoder(ARGS);
  const w = ms(t);
  api.ps_free(new Decoder(ARGS, undefined, whole.address).native);
  t = performance.now();
  const lent = share.lend();
  const l = ms(t);
  t = performance.now();
  const made = createNativeDecoder(ARGS, undefined, lent);
  const m = ms(t);
  t = performance.now();
  const d = new Decoder(ARGS, undefined, made.address, made.shared);
  const a = ms(t);
  console.log(
    `pool ${i + 1}: maker thread: whole ps_init ${w} ms, shared (ps_init + swap + free own copies) ${m} ms | decoding thread: lend ${l} ms, adopt ${a} ms (shared: ${d.sharesModel})`,
  );
}
