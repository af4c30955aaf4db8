/**
 * The PocketSphinx 5prealpha C API (libpocketsphinx.so.3 + libsphinxbase.so.3), bound with koffi.
 * FFI rather than a native addon: the library's ABI is plain C, and koffi needs no compiler or
 * node-gyp at install time, so `npm install` works on any host that has the Debian packages.
 *
 * One `Decoder` wraps one `ps_decoder_t`. It is not thread-safe; each lives in one decoding process.
 */

import koffi from "koffi";

export interface LibraryPaths {
  /** dlopen name or path of libpocketsphinx. */
  readonly pocketsphinx: string;
  /** dlopen name or path of libsphinxbase (loaded first: it holds cmd_ln, logmath, cmn). */
  readonly sphinxbase: string;
}

export const DEFAULT_LIBRARY_PATHS: LibraryPaths = {
  pocketsphinx: "libpocketsphinx.so.3",
  sphinxbase: "libsphinxbase.so.3",
};

/** One recognized word; frames are stream-absolute (see `Decoder.startStream`), 10 ms each. */
export interface DecodedWord {
  readonly word: string;
  readonly startFrame: number;
  /** Inclusive last frame. */
  readonly endFrame: number;
  /** Posterior probability, 0..1. */
  readonly confidence: number;
}

/** Decoder arguments as pocketsphinx flags without the dash: `{ hmm: "/x", vad_postspeech: 30 }`. */
export type DecoderArgs = Readonly<Record<string, string | number | boolean>>;

// Named opaque types, referenced by name in the prototypes below.
for (const name of [
  "ps_decoder_t",
  "cmd_ln_t",
  "ps_seg_t",
  "logmath_t",
  "feat_t",
  "fe_t",
  "ngram_model_t",
  "ps_mllr_t",
]) {
  koffi.opaque(name);
}

/** The head of sphinxbase's `cmn_t` (cmn.h): live cepstral-mean state. */
const Cmn_t = koffi.struct("cmn_t", {
  cmn_mean: "float *",
  cmn_var: "float *",
  sum: "float *",
  nframe: "int32_t",
  veclen: "int32_t",
});
/** Byte offset of `cmn_t *cmn_struct` in sphinxbase's `feat_t` (feat.h) on LP64. */
const FEAT_CMN_STRUCT_OFFSET = 88;

/**
 * glibc's `malloc_trim`, or undefined on a C library without it. A decoder is 100+ MB of allocations
 * made on its process's thread, in that thread's malloc arena. When it is freed, glibc gives back only
 * the free memory at the top of a heap; the rest stays resident, so the process kept the peak of a
 * churn of decoders after every stream was gone. `malloc_trim` releases the free pages of every
 * arena (measured in docs/benchmarks.md, "PocketSphinx native stress").
 */
function bindMallocTrim(): ((pad: number) => number) | undefined {
  try {
    return koffi.load("libc.so.6").func("int malloc_trim(size_t pad)");
  } catch {
    return undefined;
  }
}

function bind(paths: LibraryPaths) {
  const sb = koffi.load(paths.sphinxbase);
  const ps = koffi.load(paths.pocketsphinx);
  return {
    malloc_trim: bindMallocTrim(),
    as_decoder: koffi.load("libc.so.6").func("ps_decoder_t *memmove(void *dest, const void *src, size_t n)"),
    err_set_logfp: sb.func("void err_set_logfp(void *stream)"),
    cmd_ln_parse_r: sb.func(
      "cmd_ln_t *cmd_ln_parse_r(cmd_ln_t *inout, const void *defn, int32_t argc, const char **argv, int32_t strict)",
    ),
    cmd_ln_free_r: sb.func("int cmd_ln_free_r(cmd_ln_t *cmdln)"),
    logmath_exp: sb.func("double logmath_exp(logmath_t *lmath, int logb_p)"),
    ps_args: ps.func("const void *ps_args()"),
    ps_init: ps.func("ps_decoder_t *ps_init(cmd_ln_t *config)"),
    ps_free: ps.func("int ps_free(ps_decoder_t *ps)"),
    ps_get_logmath: ps.func("logmath_t *ps_get_logmath(ps_decoder_t *ps)"),
    ps_get_feat: ps.func("feat_t *ps_get_feat(ps_decoder_t *ps)"),
    ps_get_fe: ps.func("fe_t *ps_get_fe(ps_decoder_t *ps)"),
    ps_start_stream: ps.func("int ps_start_stream(ps_decoder_t *ps)"),
    ps_start_utt: ps.func("int ps_start_utt(ps_decoder_t *ps)"),
    ps_end_utt: ps.func("int ps_end_utt(ps_decoder_t *ps)"),
    ps_process_raw: ps.func(
      "int ps_process_raw(ps_decoder_t *ps, const int16_t *data, size_t n_samples, int no_search, int full_utt)",
    ),
    ps_get_in_speech: ps.func("uint8_t ps_get_in_speech(ps_decoder_t *ps)"),
    ps_get_hyp: ps.func("const char *ps_get_hyp(ps_decoder_t *ps, int32_t *out_best_score)"),
    ps_seg_iter: ps.func("ps_seg_t *ps_seg_iter(ps_decoder_t *ps)"),
    ps_seg_next: ps.func("ps_seg_t *ps_seg_next(ps_seg_t *seg)"),
    ps_seg_word: ps.func("const char *ps_seg_word(ps_seg_t *seg)"),
    ps_seg_frames: ps.func("void ps_seg_frames(ps_seg_t *seg, _Out_ int *out_sf, _Out_ int *out_ef)"),
    ps_seg_prob: ps.func("int32_t ps_seg_prob(ps_seg_t *seg, int32_t *ascr, int32_t *lscr, int32_t *lback)"),
    ps_seg_free: ps.func("void ps_seg_free(ps_seg_t *seg)"),
    // Acoustic adaptation (see `Decoder.useMllr`).
    ps_mllr_read: ps.func("ps_mllr_t *ps_mllr_read(const char *file)"),
    ps_mllr_retain: ps.func("ps_mllr_t *ps_mllr_retain(ps_mllr_t *mllr)"),
    ps_update_mllr: ps.func("ps_mllr_t *ps_update_mllr(ps_decoder_t *ps, ps_mllr_t *mllr)"),
    // Model sharing (see `ModelShare`). Pointers to shared objects are `void *`: koffi passes them
    // on as plain addresses.
    ps_get_lm: ps.func("ngram_model_t *ps_get_lm(ps_decoder_t *ps, const char *name)"),
    ngram_model_set_lookup: sb.func("void *ngram_model_set_lookup(ngram_model_t *set, const char *name)"),
    ngram_model_retain: sb.func("void *ngram_model_retain(void *model)"),
    ngram_model_free: sb.func("int ngram_model_free(void *model)"),
    dict_retain: ps.func("void *dict_retain(void *dict)"),
    dict_free: ps.func("int dict_free(void *dict)"),
    dict2pid_retain: ps.func("void *dict2pid_retain(void *d2p)"),
    dict2pid_free: ps.func("int dict2pid_free(void *d2p)"),
    logmath_retain: sb.func("void *logmath_retain(void *lmath)"),
  };
}

type Api = ReturnType<typeof bind>;
let api: Api | undefined;

/**
 * Load the shared libraries once per process; throws (with the dlopen message) when they are missing.
 *
 * The library's log goes to one process-wide FILE that sphinxbase swaps without a lock: `-logfn`
 * makes every ps_init fopen a new FILE, swap it in and fclose the old one, while decoders on other
 * threads may be writing to the old one (a use after free: heap corruption, then `free(): invalid
 * size` or a deadlock on the freed FILE's lock; docs/benchmarks.md, "PocketSphinx native stress").
 * So logging is turned off here, before this thread creates any decoder, and `-logfn` is refused:
 * err_set_logfp(NULL) only stores NULL and a flag, the same values from every thread, and no FILE
 * is ever opened or closed.
 */
export function loadLibrary(paths: LibraryPaths = DEFAULT_LIBRARY_PATHS): Api {
  if (api) return api;
  api = bind(paths);
  api.err_set_logfp(null);
  return api;
}

/**
 * MLLR transforms read once per process, by file, and kept for the life of the process. A decoder
 * owns the transform it is given (acmod_update_mllr frees the one it had, and acmod_free the last),
 * so each `useMllr` hands it a reference of its own (`ps_mllr_retain`). The reference counts are
 * not atomic: every retain and free happens on the decoding thread (decoders are only made on the
 * maker thread, without a transform).
 */
const transforms = new Map<string, unknown>();

function mllrTransform(api: Api, path: string): unknown {
  let transform = transforms.get(path);
  if (transform === undefined) {
    transform = api.ps_mllr_read(path);
    if (!transform) throw new Error(`cannot read the MLLR transform ${path}`);
    transforms.set(path, transform);
  }
  return transform;
}

/** Read an MLLR transform into the process's cache (once), so a bad file fails at start-up; throws. */
export function readMllr(path: string, paths: LibraryPaths = DEFAULT_LIBRARY_PATHS): void {
  mllrTransform(loadLibrary(paths), path);
}

/** Flags that make ps_init change state shared by every decoder in the process (see `loadLibrary`). */
const PROCESS_WIDE_FLAGS = ["logfn"];

/** Word tokens that are not words: sentence markers, silence, noise and `++FILLER++` tokens. */
export function isFillerToken(token: string): boolean {
  return token.startsWith("<") || token.startsWith("[") || (token.startsWith("++") && token.endsWith("++"));
}

/** `word(2)` (an alternate pronunciation) → `word`. */
export function baseWord(token: string): string {
  const paren = token.indexOf("(");
  return paren > 0 ? token.slice(0, paren) : token;
}

/** The hypothesis string without fillers and pronunciation variants. */
export function cleanHypothesis(hyp: string | null): string {
  if (!hyp) return "";
  return hyp
    .split(/\s+/)
    .filter((token) => token !== "" && !isFillerToken(token))
    .map(baseWord)
    .join(" ");
}

/** ps_init with `args` as `-flag value` pairs; throws if the flags or the model are refused. */
function initDecoder(api: Api, args: DecoderArgs): unknown {
  const shared = PROCESS_WIDE_FLAGS.filter((flag) => flag in args);
  if (shared.length > 0) {
    throw new Error(
      `pocketsphinx flags not supported (they change every decoder in the process): -${shared.join(", -")}`,
    );
  }
  const argv: string[] = [];
  for (const [name, value] of Object.entries(args)) {
    argv.push(`-${name}`, typeof value === "boolean" ? (value ? "yes" : "no") : String(value));
  }
  const config = api.cmd_ln_parse_r(null, api.ps_args(), argv.length, argv, 1);
  if (!config) throw new Error(`pocketsphinx rejected the decoder arguments: ${argv.join(" ")}`);
  const ps = api.ps_init(config);
  // ps_init retains the configuration it keeps; drop ours.
  api.cmd_ln_free_r(config);
  if (!ps) throw new Error("ps_init failed: the acoustic model, dictionary or language model could not be loaded");
  return ps;
}

/**
 * The `ps_decoder_t *` at `address`. koffi tags a pointer value with its type and decodes a raw
 * address only as `void *`; `memmove(p, p, 0)` (which copies nothing and returns `p`), bound to
 * return `ps_decoder_t *`, gives it the decoder's type.
 */
function pointerAt(api: Api, address: bigint): unknown {
  const cell = Buffer.alloc(8);
  cell.writeBigUInt64LE(address);
  const pointer = koffi.decode(cell, "void *");
  return api.as_decoder(pointer, pointer, 0);
}

/** A `void *` holding `address` (0n: NULL). */
function voidAt(address: bigint): unknown {
  const cell = Buffer.alloc(8);
  cell.writeBigUInt64LE(address);
  return koffi.decode(cell, "void *");
}

/** The address a pointer holds (0n for NULL). */
function addressOf(pointer: unknown): bigint {
  return pointer ? BigInt(koffi.address(pointer)) : 0n;
}

/**
 * Byte offsets in the pinned library (pocketsphinx e7d059fe, sphinxbase 2c132b3; LP64), for sharing
 * the model between the decoders of one process (docs/design/shared-model.md). Every one is checked
 * against a public accessor or a known value before anything is written (`sharedLayout`).
 */
const LAYOUT = {
  /** ps_decoder_t (pocketsphinx_internal.h): config @0, acmod @16, dict @24, d2p @32, lmath @40, search @56. */
  ps: { config: 0, acmod: 16, dict: 24, d2p: 32, lmath: 40, search: 56 },
  /** ps_search_t: name @16, config @32, acmod @40, dict @48, d2p @56; ngram_search_t: lmset @112 (after the 112-byte base). */
  search: { name: 16, config: 32, acmod: 40, dict: 48, d2p: 56, lmset: 112 },
  /** ngram_model_set_t (ngram_model_set.h): n_models @96, lms @104, after the 96-byte ngram_model_t. */
  lmset: { nModels: 96, lms: 104 },
  /** dict2pid_t (dict2pid.h): refcount @0, mdef @8, dict @16 (it holds a reference to its dictionary). */
  d2p: { dict: 16 },
  /** The reference counts: dict_t.refcnt, dict2pid_t.refcount, ngram_model_t.refcount are each the first field. */
  refcount: 0,
} as const;

/** PS_DEFAULT_SEARCH: the search ps_init makes for -lm; ngram_search_init names its one model "default". */
const DEFAULT_SEARCH = "_default";
const DEFAULT_LM = "default";

/** One decoder's shareable parts as addresses, read through `LAYOUT` after checking it; or undefined. */
function sharedLayout(api: Api, ps: unknown) {
  const L = LAYOUT;
  const ptr = (base: unknown, offset: number) => addressOf(koffi.decode(base, offset, "void *"));
  const lmath = ptr(ps, L.ps.lmath);
  if (lmath === 0n || lmath !== addressOf(api.ps_get_logmath(ps))) return undefined;
  const dict = ptr(ps, L.ps.dict);
  const d2p = ptr(ps, L.ps.d2p);
  const search = koffi.decode(ps, L.ps.search, "void *");
  if (dict === 0n || d2p === 0n || !search) return undefined;
  const name = koffi.decode(search, L.search.name, "char *") as string | null;
  const lmset = api.ps_get_lm(ps, DEFAULT_SEARCH);
  if (
    name !== DEFAULT_SEARCH ||
    !lmset ||
    ptr(search, L.search.config) !== ptr(ps, L.ps.config) ||
    ptr(search, L.search.acmod) !== ptr(ps, L.ps.acmod) ||
    ptr(search, L.search.dict) !== dict ||
    ptr(search, L.search.d2p) !== d2p ||
    ptr(voidAt(d2p), L.d2p.dict) !== dict ||
    ptr(search, L.search.lmset) !== addressOf(lmset) ||
    koffi.decode(lmset, L.lmset.nModels, "int32_t") !== 1
  ) {
    return undefined;
  }
  const lms = koffi.decode(lmset, L.lmset.lms, "void *");
  const lm = lms ? ptr(lms, 0) : 0n;
  if (lm === 0n || lm !== addressOf(api.ngram_model_set_lookup(lmset, DEFAULT_LM))) return undefined;
  return { lmath, dict, d2p, lm, search, lms };
}

/**
 * References to a process's shared model, taken on the decoding thread for one decoder the maker
 * thread makes (`ModelShare.lend`): the dictionary and dict2pid twice (the decoder and its search
 * each hold one), the n-gram model once (the search's LM set holds it). The maker thread only writes
 * these addresses into its new decoder and never reads or counts the objects behind them.
 */
export interface SharedModelRefs {
  /** The decoder arguments the shared model was made with: a decoder with others does not share. */
  readonly argsKey: string;
  readonly dict: bigint;
  readonly d2p: bigint;
  readonly lm: bigint;
}

function argsKey(args: DecoderArgs): string {
  return JSON.stringify(Object.entries(args).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The language model, dictionary and dict2pid of a process's first decoder, shared by the decoders
 * made after it (docs/design/shared-model.md): about 36 MB each instead of 91 MB for the en-us model.
 *
 * Every reference count of a shared object changes on the thread that made the share (the decoding
 * thread, which also frees decoders and builds lattices that count the dictionary): `lend` takes the
 * references a new decoder needs before the maker thread makes it, `giveBack` drops them if it was
 * not made the shared way. The logmath the shared LM points to (unretained, `ngram_model_t.lmath`)
 * is retained here and never freed: it must outlive every decoder, and it goes with the process.
 */
export class ModelShare {
  readonly #api: Api;
  readonly #key: string;
  #refs: { dict: unknown; d2p: unknown; lm: unknown } | undefined;

  private constructor(api: Api, key: string, refs: { dict: unknown; d2p: unknown; lm: unknown }) {
    this.#api = api;
    this.#key = key;
    this.#refs = refs;
  }

  /** Share `owner`'s model (made with `args`), or undefined if its layout is not the expected one. */
  static from(owner: Decoder, args: DecoderArgs): ModelShare | undefined {
    // The library is loaded: `owner` exists.
    const api = loadLibrary();
    const layout = sharedLayout(api, owner.native);
    if (!layout) return undefined;
    api.logmath_retain(voidAt(layout.lmath));
    return new ModelShare(api, argsKey(args), {
      dict: api.dict_retain(voidAt(layout.dict)),
      d2p: api.dict2pid_retain(voidAt(layout.d2p)),
      lm: api.ngram_model_retain(voidAt(layout.lm)),
    });
  }

  /** References for one decoder to be made the shared way (see `SharedModelRefs`). */
  lend(): SharedModelRefs | undefined {
    const refs = this.#refs;
    if (!refs) return undefined;
    const api = this.#api;
    api.dict_retain(refs.dict);
    api.dict_retain(refs.dict);
    api.dict2pid_retain(refs.d2p);
    api.dict2pid_retain(refs.d2p);
    api.ngram_model_retain(refs.lm);
    return { argsKey: this.#key, dict: addressOf(refs.dict), d2p: addressOf(refs.d2p), lm: addressOf(refs.lm) };
  }

  /** Drop the references `lend` took, for a decoder that was not made the shared way. */
  giveBack(lent: SharedModelRefs): void {
    const api = this.#api;
    api.ngram_model_free(voidAt(lent.lm));
    api.dict2pid_free(voidAt(lent.d2p));
    api.dict2pid_free(voidAt(lent.d2p));
    api.dict_free(voidAt(lent.dict));
    api.dict_free(voidAt(lent.dict));
  }

  /** Drop the share's own references; decoders that share keep theirs (the logmath stays). */
  close(): void {
    const refs = this.#refs;
    this.#refs = undefined;
    if (!refs) return;
    this.#api.ngram_model_free(refs.lm);
    this.#api.dict2pid_free(refs.d2p);
    this.#api.dict_free(refs.dict);
  }
}

/**
 * Turn `ps`, a normally made decoder nobody else has seen, into one that shares the model `shared`
 * refers to: its decoder and search take the shared dictionary and dict2pid, its LM set the shared
 * n-gram model, and its own copies (which it alone holds: the reference counts are checked) are
 * freed. Its search (lextree, word tables, the LM set's word map) stays: it was built from a
 * dictionary and LM read from the same files, so it is the one a search over the shared ones would
 * have. Touches no shared object: only addresses are written. False (nothing changed) if a layout
 * check fails or the decoder arguments differ.
 */
function adoptSharedModel(api: Api, ps: unknown, args: DecoderArgs, shared: SharedModelRefs): boolean {
  if (shared.argsKey !== argsKey(args)) return false;
  const layout = sharedLayout(api, ps);
  if (!layout) return false;
  const own = { dict: voidAt(layout.dict), d2p: voidAt(layout.d2p), lm: voidAt(layout.lm) };
  const count = (p: unknown) => koffi.decode(p, LAYOUT.refcount, "int32_t") as number;
  // The decoder and its search hold the dictionary (and so does the dict2pid) and the dict2pid; the
  // LM set holds the LM (ps_init dropped its own reference). Any other holder would keep a pointer
  // to what is freed below.
  if (count(own.dict) !== 3 || count(own.d2p) !== 2 || count(own.lm) !== 1) return false;
  const L = LAYOUT;
  koffi.encode(ps, L.ps.dict, "void *", voidAt(shared.dict));
  koffi.encode(ps, L.ps.d2p, "void *", voidAt(shared.d2p));
  koffi.encode(layout.search, L.search.dict, "void *", voidAt(shared.dict));
  koffi.encode(layout.search, L.search.d2p, "void *", voidAt(shared.d2p));
  koffi.encode(layout.lms, 0, "void *", voidAt(shared.lm));
  // The dict2pid's last free drops its reference to the dictionary; the two left are ours to drop.
  api.ngram_model_free(own.lm);
  api.dict2pid_free(own.d2p);
  api.dict2pid_free(own.d2p);
  api.dict_free(own.dict);
  api.dict_free(own.dict);
  api.malloc_trim?.(0);
  return true;
}

/**
 * Create a decoder and return its address, for the decoder maker thread: the decoding thread of the
 * same process adopts it with `new Decoder(args, paths, address)`. Throws what ps_init threw. With
 * `shared` (references the decoding thread took for it, `ModelShare.lend`), the decoder then shares
 * that model (`adoptSharedModel`); `shared` in the answer says whether it does: if not, the
 * decoding thread gives the references back.
 */
export function createNativeDecoder(
  args: DecoderArgs,
  paths: LibraryPaths = DEFAULT_LIBRARY_PATHS,
  shared?: SharedModelRefs,
): { address: bigint; shared: boolean } {
  const api = loadLibrary(paths);
  const ps = initDecoder(api, args);
  return { address: BigInt(koffi.address(ps)), shared: shared ? adoptSharedModel(api, ps, args, shared) : false };
}

export class Decoder {
  readonly #api: Api;
  #ps: unknown;
  readonly #logmath: unknown;
  readonly #cmn: { readonly pointer: unknown; readonly initialMean: number[]; readonly veclen: number } | undefined;
  #inUtterance = false;
  /** The MLLR transform file the acoustic model is adapted with; undefined: the model as read. */
  #mllr: string | undefined;

  /**
   * Create a decoder (about 0.5 s and 100+ MB for the en-us model); throws if ps_init fails. With
   * `adopt`, wrap the decoder at that address instead, one `createNativeDecoder` made on another
   * thread of this process (the decoder maker), so ps_init stalled no decoding.
   */
  /** Whether it shares its process's model (`ModelShare`): adopted with `sharesModel`. */
  readonly sharesModel: boolean;

  constructor(args: DecoderArgs, paths: LibraryPaths = DEFAULT_LIBRARY_PATHS, adopt?: bigint, sharesModel = false) {
    this.#api = loadLibrary(paths);
    this.sharesModel = adopt !== undefined && sharesModel;
    const ps = adopt === undefined ? initDecoder(this.#api, args) : pointerAt(this.#api, adopt);
    this.#ps = ps;
    this.#logmath = this.#api.ps_get_logmath(ps);
    this.#cmn = this.#readCmn();
  }

  /** The `ps_decoder_t *`, for the state snapshot (decoder-state.ts). */
  get native(): unknown {
    return this.#live();
  }

  /** True while the VAD hears speech (after its start-speech frames, until its post-speech frames). */
  get inSpeech(): boolean {
    return this.#api.ps_get_in_speech(this.#live()) !== 0;
  }

  get inUtterance(): boolean {
    return this.#inUtterance;
  }

  /**
   * Begin a new audio stream: frame counters restart at 0 (word frames are counted from here), and
   * the live cepstral mean returns to its initial value, so a reused decoder transcribes a stream
   * exactly as a fresh one would. `prime` runs after ps_start_stream and before ps_start_utt: it
   * writes a stream's saved state into the decoder (decoder-state.ts), so the stream continues as if
   * it had never left it.
   */
  startStream(prime?: (ps: unknown) => void): void {
    const ps = this.#live();
    if (this.#inUtterance) this.endUtterance();
    this.#resetCmn();
    this.#api.ps_start_stream(ps);
    prime?.(ps);
    this.startUtterance();
  }

  /**
   * Restart the library's frame counter (ps_start_stream) between utterances, keeping the channel
   * (CMN) estimate: the next utterance's frames count from 0. Used when the caller keeps time.
   */
  restartFrameCount(): void {
    if (this.#inUtterance) this.endUtterance();
    this.#api.ps_start_stream(this.#live());
  }

  /** The MLLR transform file the acoustic model is adapted with; undefined: the model as read. */
  get mllr(): string | undefined {
    return this.#mllr;
  }

  /**
   * Adapt the acoustic model with the MLLR transform in `path`, or, with undefined, return it to the
   * model as read, through `identity` (a transform that changes nothing). ps_update_mllr reloads the
   * means and variances from the model's files before it transforms them, so a decoder moved from
   * one transform to another scores exactly as one that only ever had the second. Between streams
   * only: an utterance in progress is ended first. Costs a few ms (two 0.8 MB reads), and nothing
   * when the decoder already has that transform.
   */
  useMllr(path: string | undefined, identity: string): void {
    if (path === this.#mllr) return;
    if (this.#inUtterance) this.endUtterance();
    const transform = this.#api.ps_mllr_retain(mllrTransform(this.#api, path ?? identity));
    if (!this.#api.ps_update_mllr(this.#live(), transform)) {
      throw new Error(`ps_update_mllr failed for ${path ?? identity}`);
    }
    this.#mllr = path;
  }

  startUtterance(): void {
    if (this.#api.ps_start_utt(this.#live()) < 0) throw new Error("ps_start_utt failed");
    this.#inUtterance = true;
  }

  endUtterance(): void {
    if (!this.#inUtterance) return;
    this.#inUtterance = false;
    if (this.#api.ps_end_utt(this.#live()) < 0) throw new Error("ps_end_utt failed");
  }

  process(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    if (this.#api.ps_process_raw(this.#live(), pcm, pcm.length, 0, 0) < 0) throw new Error("ps_process_raw failed");
  }

  /** Best hypothesis of the current (or just ended) utterance, fillers removed. */
  hypothesis(): string {
    return cleanHypothesis(this.#api.ps_get_hyp(this.#live(), null));
  }

  /** Word segmentation of the best hypothesis, fillers removed. */
  words(): DecodedWord[] {
    const api = this.#api;
    const words: DecodedWord[] = [];
    const startFrame = [0];
    const endFrame = [0];
    let seg = api.ps_seg_iter(this.#live());
    while (seg) {
      const token: string = api.ps_seg_word(seg);
      if (!isFillerToken(token)) {
        api.ps_seg_frames(seg, startFrame, endFrame);
        const posterior = api.logmath_exp(this.#logmath, api.ps_seg_prob(seg, null, null, null));
        words.push({
          word: baseWord(token),
          startFrame: startFrame[0] ?? 0,
          endFrame: endFrame[0] ?? 0,
          confidence: Math.min(1, Math.max(0, posterior)),
        });
      }
      // ps_seg_next frees the iterator when it returns NULL.
      seg = api.ps_seg_next(seg);
    }
    return words;
  }

  /** Free the decoder and return its memory to the OS (see `bindMallocTrim`). */
  free(): void {
    if (this.#ps === undefined) return;
    this.#api.ps_free(this.#ps);
    this.#ps = undefined;
    this.#api.malloc_trim?.(0);
  }

  #live(): unknown {
    if (this.#ps === undefined) throw new Error("decoder already freed");
    return this.#ps;
  }

  /**
   * The live CMN state is not reachable through pocketsphinx's public API and survives
   * ps_start_stream, so a reused decoder would start a stream with the previous caller's channel
   * estimate. Read it through `feat_t`'s layout (stable for this pinned library version); a sanity
   * check on the vector length keeps a mismatched library from being written to.
   */
  #readCmn() {
    const feat = this.#api.ps_get_feat(this.#ps);
    if (!feat) return undefined;
    const pointer = koffi.decode(feat, FEAT_CMN_STRUCT_OFFSET, "void *");
    if (!pointer) return undefined;
    const cmn = koffi.decode(pointer, Cmn_t) as { cmn_mean: unknown; nframe: number; veclen: number };
    if (cmn.veclen < 1 || cmn.veclen > 64 || cmn.nframe !== 0) return undefined;
    const initialMean = koffi.decode(cmn.cmn_mean, "float", cmn.veclen) as number[];
    return { pointer, initialMean, veclen: cmn.veclen };
  }

  #resetCmn(): void {
    const state = this.#cmn;
    if (!state) return;
    const cmn = koffi.decode(state.pointer, Cmn_t) as { cmn_mean: unknown; sum: unknown };
    koffi.encode(cmn.cmn_mean, "float", state.initialMean, state.veclen);
    koffi.encode(cmn.sum, "float", new Array<number>(state.veclen).fill(0), state.veclen);
    koffi.encode(state.pointer, 24, "int32_t", 0);
  }
}
