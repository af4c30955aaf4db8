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
for (const name of ["ps_decoder_t", "cmd_ln_t", "ps_seg_t", "logmath_t", "feat_t", "fe_t"]) koffi.opaque(name);

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

/**
 * Create a decoder and return its address, for the decoder maker thread: the decoding thread of the
 * same process adopts it with `new Decoder(args, paths, address)`. Throws what ps_init threw.
 */
export function createNativeDecoder(args: DecoderArgs, paths: LibraryPaths = DEFAULT_LIBRARY_PATHS): bigint {
  return koffi.address(initDecoder(loadLibrary(paths), args));
}

export class Decoder {
  readonly #api: Api;
  #ps: unknown;
  readonly #logmath: unknown;
  readonly #cmn: { readonly pointer: unknown; readonly initialMean: number[]; readonly veclen: number } | undefined;
  #inUtterance = false;

  /**
   * Create a decoder (about 0.5 s and 100+ MB for the en-us model); throws if ps_init fails. With
   * `adopt`, wrap the decoder at that address instead, one `createNativeDecoder` made on another
   * thread of this process (the decoder maker), so ps_init stalled no decoding.
   */
  constructor(args: DecoderArgs, paths: LibraryPaths = DEFAULT_LIBRARY_PATHS, adopt?: bigint) {
    this.#api = loadLibrary(paths);
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
