/**
 * The PocketSphinx decoder state that outlives an utterance, read from one decoder and written into
 * another, so that a stream resumed on a fresh (or pooled) decoder decodes its later utterances
 * exactly as the uninterrupted stream would (issue 15, item 3; docs/design/decoder-state.md).
 *
 * What it captures, and why (design note, "What carries over, piece by piece"):
 * - the live CMN estimate (`cmn_t`: mean, running sum and frame count, 13 floats + 13 + 1): every
 *   utterance is normalized with the mean of the ones before it. All three fields, since `nframe`
 *   decides when the window shifts and `sum` what the next mean becomes; neither `-cmninit` nor
 *   `cmn_live_set` restores them. Nothing in the library resets it, not even `ps_start_stream`.
 * - the front end's noise / VAD estimate (`noise_stats`: power, noise, floor, peak × 25 filters,
 *   `slow_peak_sum`, `undefined`): it changes the cepstra and where the VAD ends utterances.
 *   `ps_start_stream` resets it.
 * - the stream clock (`fe_t.num_processed_samps`): the library stamps an utterance's start frame from
 *   it, so without it the first utterance after a resume can be shifted by a few frames; with it,
 *   word frames come out in the original stream's frames. `ps_start_stream` resets it.
 * With all three, the design note's probe got identical later finals (words, boundaries, absolute
 * frames) at 20 of 20 resume points; with none, the same words at 0 of 20.
 *
 * None of this has a public getter or setter in the installed 5prealpha library, so it is reached
 * through the struct layouts of that build (sphinxbase 2c132b3, LP64, floating point). Four values
 * are checked before any read or write (`veclen`, `frame_shift`, `frame_size`, `num_filters`); if
 * they do not match, snapshot and prime refuse with a `DecoderStateError` rather than write into a
 * struct this module does not know.
 *
 * `primeDecoder` must run right after `ps_start_stream` (which resets the noise estimate and the
 * clock) and before `ps_start_utt`.
 */

import { defineError } from "@earshot/protocol";
import koffi from "koffi";
import { loadLibrary } from "./binding.js";

export type DecoderStateErrorCode = "decoder_layout_mismatch" | "decoder_state_invalid";

/** The library's structs are not the ones this module knows, or a state does not fit the decoder. */
export class DecoderStateError extends defineError<DecoderStateErrorCode>("DecoderStateError") {}

/** What carries from one utterance to the next; plain numbers, so it survives JSON (IPC, storage). */
export interface DecoderState {
  /** Live cepstral mean normalization (`cmn_t`). */
  readonly cmn: {
    readonly mean: readonly number[];
    readonly sum: readonly number[];
    readonly frames: number;
  };
  /** The front end's noise and VAD estimate (`noise_stats_s`), one value per mel filter. */
  readonly noise: {
    readonly power: readonly number[];
    readonly noise: readonly number[];
    readonly floor: readonly number[];
    readonly peak: readonly number[];
    readonly slowPeakSum: number;
    /** True until the first frame after `ps_start_stream` initializes the estimate. */
    readonly undefined: boolean;
  };
  /** `num_processed_samps`: samples the front end has taken since `ps_start_stream`. */
  readonly processedSamples: number;
}

// sphinxbase feat.h: `cmn_t *cmn_struct` in `feat_t` (LP64), as binding.ts uses to reset it.
const FEAT_CMN_STRUCT = 88;
// sphinxbase cmn.h:128–134: `float *cmn_mean, *cmn_var, *sum; int32 nframe, veclen`.
const CMN = { mean: 0, sum: 16, frames: 24, veclen: 28 } as const;
// sphinxbase fe_internal.h:117–170 (`struct fe_s`, LP64).
const FE = { frameShift: 18, frameSize: 24, processedSamples: 56, noiseStats: 96 } as const;
// sphinxbase fe_noise.c:83–114 (`struct noise_stats_s`; `powspec_t` is double in this build).
const NOISE = { power: 0, noise: 8, floor: 16, peak: 24, undefined: 32, numFilters: 36, slowPeakSum: 40 } as const;
const NOISE_ARRAYS = ["power", "noise", "floor", "peak"] as const;

/** The layout values of the build the offsets come from (en-us model, 16 kHz). */
const EXPECTED = { veclen: 13, frameShift: 160, frameSize: 410, numFilters: 25 } as const;

interface Layout {
  readonly cmn: unknown;
  readonly fe: unknown;
  readonly noise: unknown;
  readonly veclen: number;
  readonly numFilters: number;
}

function pointerAt(base: unknown, offset: number): unknown {
  return koffi.decode(base, offset, "void *");
}

/** The structs of `ps`, or a reason why they are not the ones this module knows. */
function inspect(ps: unknown): Layout | string {
  const api = loadLibrary();
  const feat = api.ps_get_feat(ps);
  const fe = api.ps_get_fe(ps);
  if (!feat || !fe) return "the decoder has no feature extractor or front end";
  const cmn = pointerAt(feat, FEAT_CMN_STRUCT);
  const noise = pointerAt(fe, FE.noiseStats);
  if (!cmn || !noise) return "the decoder has no CMN or noise statistics";
  const found = {
    veclen: koffi.decode(cmn, CMN.veclen, "int32_t") as number,
    frameShift: koffi.decode(fe, FE.frameShift, "int16_t") as number,
    frameSize: koffi.decode(fe, FE.frameSize, "int16_t") as number,
    numFilters: koffi.decode(noise, NOISE.numFilters, "uint32_t") as number,
  };
  const wrong = (Object.keys(EXPECTED) as (keyof typeof EXPECTED)[]).filter((k) => found[k] !== EXPECTED[k]);
  if (wrong.length > 0) {
    return `unknown decoder layout: ${wrong.map((k) => `${k} ${found[k]} (expected ${EXPECTED[k]})`).join(", ")}`;
  }
  return { cmn, fe, noise, veclen: found.veclen, numFilters: found.numFilters };
}

function layoutOf(ps: unknown): Layout {
  const layout = inspect(ps);
  if (typeof layout === "string") throw new DecoderStateError("decoder_layout_mismatch", layout);
  return layout;
}

/** Whether this decoder's structs match the layout the snapshot reads and writes. */
export function decoderStateSupported(ps: unknown): boolean {
  return typeof inspect(ps) !== "string";
}

/** Read the state of `ps` (a `ps_decoder_t *`); take it after `ps_end_utt`, before `ps_start_utt`. */
export function snapshotDecoderState(ps: unknown): DecoderState {
  const { cmn, fe, noise, veclen, numFilters } = layoutOf(ps);
  // koffi decodes numeric arrays as typed arrays: copied into plain arrays, which JSON keeps as arrays.
  const floats = (offset: number) =>
    Array.from(koffi.decode(pointerAt(cmn, offset), "float", veclen) as ArrayLike<number>);
  const doubles = (offset: number) =>
    Array.from(koffi.decode(pointerAt(noise, offset), "double", numFilters) as ArrayLike<number>);
  return {
    cmn: {
      mean: floats(CMN.mean),
      sum: floats(CMN.sum),
      frames: koffi.decode(cmn, CMN.frames, "int32_t") as number,
    },
    noise: {
      power: doubles(NOISE.power),
      noise: doubles(NOISE.noise),
      floor: doubles(NOISE.floor),
      peak: doubles(NOISE.peak),
      slowPeakSum: koffi.decode(noise, NOISE.slowPeakSum, "double") as number,
      undefined: (koffi.decode(noise, NOISE.undefined, "uint8_t") as number) !== 0,
    },
    processedSamples: Number(koffi.decode(fe, FE.processedSamples, "uint64_t")),
  };
}

/**
 * Write `state` into `ps`. Call right after `ps_start_stream` (which resets the noise estimate and
 * the clock this overwrites) and before `ps_start_utt`. Checks the whole state before writing any of it.
 */
export function primeDecoder(ps: unknown, state: DecoderState): void {
  const { cmn, fe, noise, veclen, numFilters } = layoutOf(ps);
  const problem = invalidState(state, veclen, numFilters);
  if (problem) throw new DecoderStateError("decoder_state_invalid", problem);
  koffi.encode(pointerAt(cmn, CMN.mean), "float", [...state.cmn.mean], veclen);
  koffi.encode(pointerAt(cmn, CMN.sum), "float", [...state.cmn.sum], veclen);
  koffi.encode(cmn, CMN.frames, "int32_t", state.cmn.frames);
  for (const key of NOISE_ARRAYS) {
    koffi.encode(pointerAt(noise, NOISE[key]), "double", [...state.noise[key]], numFilters);
  }
  koffi.encode(noise, NOISE.slowPeakSum, "double", state.noise.slowPeakSum);
  koffi.encode(noise, NOISE.undefined, "uint8_t", state.noise.undefined ? 1 : 0);
  koffi.encode(fe, FE.processedSamples, "uint64_t", state.processedSamples);
}

/**
 * Why `state` (untrusted: read from a client's resume state) is not a state this module's layout
 * can write, or undefined if it is. `primeDecoder` checks it again against the decoder's own sizes.
 */
export function decoderStateProblem(state: unknown): string | undefined {
  if (typeof state !== "object" || state === null) return "the decoder state is not an object";
  const { cmn, noise } = state as { cmn?: unknown; noise?: unknown };
  if (typeof cmn !== "object" || cmn === null || typeof noise !== "object" || noise === null) {
    return "the decoder state has no CMN or noise estimate";
  }
  return invalidState(state as DecoderState, EXPECTED.veclen, EXPECTED.numFilters);
}

/** Why `state` cannot be written into a decoder with these sizes, or undefined if it can. */
function invalidState(state: DecoderState, veclen: number, numFilters: number): string | undefined {
  const finite = (values: readonly number[], length: number) =>
    Array.isArray(values) && values.length === length && values.every(Number.isFinite);
  if (!finite(state.cmn?.mean, veclen) || !finite(state.cmn.sum, veclen)) {
    return `the CMN mean and sum must be ${veclen} finite numbers`;
  }
  if (!Number.isInteger(state.cmn.frames) || state.cmn.frames < 0 || state.cmn.frames > 0x7fffffff) {
    return `CMN frames ${state.cmn.frames} is not a non-negative int32`;
  }
  if (!NOISE_ARRAYS.every((key) => finite(state.noise?.[key], numFilters))) {
    return `the noise estimate must have ${numFilters} finite numbers per array`;
  }
  if (!Number.isFinite(state.noise.slowPeakSum) || typeof state.noise.undefined !== "boolean") {
    return "the noise estimate's slowPeakSum or undefined flag is malformed";
  }
  if (!Number.isSafeInteger(state.processedSamples) || state.processedSamples < 0) {
    return `processedSamples ${state.processedSamples} is not a non-negative integer`;
  }
  return undefined;
}

// pocketsphinx pocketsphinx_internal.h:201–210 (`struct ps_decoder_s`, LP64): `acmod_t *acmod`.
const PS_ACMOD = 16;
// acmod.h:148–161 (`struct acmod_s`): `ps_mgau_t *mgau`.
const ACMOD_MGAU = 56;
// acmod.h:98–116: `ps_mgau_t` starts with `ps_mgaufuncs_t *vt`, whose first field is the name.
// ptm_mgau.h (`struct ptm_mgau_s`): g, max_topn, hist, n_fast_hist.
const PTM = { g: 24, maxTopn: 72, hist: 80, nFastHist: 96 } as const;
// ms_gauden.h:82–90 (`gauden_t`): n_mgau, n_feat.
const GAUDEN = { nMgau: 32, nFeat: 36 } as const;
/** `ptm_fast_eval_t`: `topn` (3-d array, one contiguous block under `topn[0][0]`) and `mgau_active`. */
const FAST_EVAL_SIZE = 16;
/** tied_mgau_common.h:52. */
const WORST_DIST = -0x80000000;

/**
 * Put the phonetically-tied model's top-N codeword history back to what `ptm_mgau_init` leaves
 * (codewords 0..N-1, worst scores), as in a fresh decoder. Each frame's top-N search starts from the
 * previous frame's list, and the library never resets it (ptm_mgau.c:426–441): the search finds the
 * same best codewords, but their order, and on ties which one, follow the starting list, and the
 * senone scores add them up in that order (not associative in the log domain). Measured: the first
 * utterance of a stream gave "with an up close" on a decoder another stream had used and "an up
 * close" on a fresh one. Reset at every stream start and checkpoint restart, a decoder's words no
 * longer depend on what it decoded before. Returns false (nothing written) for another model type
 * or layout.
 */
export function resetTopNHistory(ps: unknown): boolean {
  const acmod = pointerAt(ps, PS_ACMOD);
  const mgau = acmod ? pointerAt(acmod, ACMOD_MGAU) : undefined;
  const vt = mgau ? pointerAt(mgau, 0) : undefined;
  if (!mgau || !vt) return false;
  const name = koffi.decode(pointerAt(vt, 0), "char", -1) as string;
  if (name !== "ptm") return false;
  const g = pointerAt(mgau, PTM.g);
  const hist = pointerAt(mgau, PTM.hist);
  if (!g || !hist) return false;
  const topn = koffi.decode(mgau, PTM.maxTopn, "int16_t") as number;
  const frames = koffi.decode(mgau, PTM.nFastHist, "int32_t") as number;
  const codebooks = koffi.decode(g, GAUDEN.nMgau, "int32_t") as number;
  const features = koffi.decode(g, GAUDEN.nFeat, "int32_t") as number;
  if (!(topn >= 1 && topn <= 64 && frames >= 1 && frames <= 64 && codebooks >= 1 && codebooks <= 4096)) return false;
  if (!(features >= 1 && features <= 8)) return false;
  const initial: number[] = [];
  for (let cell = 0; cell < codebooks * features; cell++) {
    for (let m = 0; m < topn; m++) initial.push(m, WORST_DIST);
  }
  for (let frame = 0; frame < frames; frame++) {
    // hist[frame].topn → topn[0] → topn[0][0]: the block of codebooks × features × topn entries.
    const level1 = pointerAt(hist, frame * FAST_EVAL_SIZE);
    const level2 = level1 ? pointerAt(level1, 0) : undefined;
    const block = level2 ? pointerAt(level2, 0) : undefined;
    if (!block) return false;
    koffi.encode(block, "int32_t", initial, initial.length);
  }
  return true;
}
