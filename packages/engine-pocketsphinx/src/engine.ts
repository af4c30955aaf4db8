/**
 * PocketSphinx (5prealpha, the Debian `pocketsphinx` packages) as an `Engine`. Decoding runs in
 * child processes, each hosting the decoders of many streams; the server process never calls native
 * code, so a decoder crash (even a heap corruption that aborts) costs the streams of one process,
 * which the pool replaces, not the server.
 */

import { access, constants } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { EngineCapabilities, EngineLoad, EngineStream, StreamOptions } from "@earshot/engines";
import { type Engine, EngineUnavailableError, ResumeStateError, WorkerPool } from "@earshot/engines";
import { SAMPLE_RATE } from "@earshot/protocol";
import { DEFAULT_LIBRARY_PATHS, type DecoderArgs, type LibraryPaths } from "./binding.js";
import type { DecoderPoolStats } from "./decoder-pool.js";
import { DecodingProcess } from "./decoding-process.js";
import { type LinkOpener, PocketSphinxEngineStream } from "./engine-stream.js";
import type { WorkerConfig } from "./messages.js";
import { parseSessionCheckpoint } from "./resume-state.js";
import { PocketSphinxStream } from "./stream.js";

export interface PocketSphinxOptions {
  /** Directory of the Debian `pocketsphinx-en-us` model; the defaults below live in it. */
  readonly modelDir?: string;
  /** Acoustic model directory (`-hmm`); default `<modelDir>/en-us`. */
  readonly hmm?: string;
  /** Language model (`-lm`); default `<modelDir>/en-us.lm.bin`. */
  readonly lm?: string;
  /** Pronunciation dictionary (`-dict`); default `<modelDir>/cmudict-en-us.dict`. */
  readonly dict?: string;
  /** Decoding processes; default one per core. */
  readonly workers?: number;
  /**
   * Non-speech frames (10 ms each) after which the VAD ends an utterance. Default 20: finals come
   * much sooner than with the library's 50 at the same streamed WER (docs/benchmarks.md,
   * "PocketSphinx defaults, measured").
   */
  readonly vadPostspeechFrames?: number;
  /**
   * Who ends utterances: `internal` (default) is the library's own VAD, as `pocketsphinx_continuous`
   * does; `external` turns it off (`-remove_silence no`) for a caller that ends utterances with
   * `flush()`, such as `VadGatedEngine`, which then also decides which audio is decoded at all.
   */
  readonly endpointing?: "internal" | "external";
  /** VAD speech threshold (`-vad_threshold`), library default 2.0; raise it for noisy audio. */
  readonly vadThreshold?: number;
  /**
   * Warm decoders (95 MB each), made at start-up before the engine is ready and kept however idle,
   * spread over the processes; default `DEFAULT_DECODERS_PER_PROCESS` per process. Streams borrow
   * one per utterance, so this is how many may speak at once without waiting for one to be made.
   */
  readonly decoders?: number;
  /** At most this many decoders in all; default `DEFAULT_MAX_DECODERS_PER_PROCESS` per process. */
  readonly maxDecoders?: number;
  /** Decoders beyond `decoders` idle this long (ms) are freed; default 60 s. */
  readonly idleDecoderMs?: number;
  /**
   * Lend decoders per utterance (default true): a stream holds one only while it has audio to
   * decode. False: each stream keeps the one it first borrows until it ends, as before the pool;
   * its words are the same either way (decoders restart from the stream's checkpoint at each flush).
   */
  readonly lend?: boolean;
  /**
   * Once a process is busy (half of the last second decoding), pushes smaller than this (ms) wait
   * until this much is queued, it has waited this long, or a flush or the end follows; below 30%
   * busy, every push is decoded at once. Default 100; 0 turns batching off. See host.ts.
   */
  readonly batchMs?: number;
  /**
   * Decoders after a process's first share its language model, dictionary and dict2pid (default
   * true): about 36 MB each instead of 91 MB, same output (docs/design/shared-model.md). False:
   * every decoder is whole.
   */
  readonly shareModel?: boolean;
  /**
   * Further decoder flags without the dash, e.g. `{ beam: "1e-60" }`; they override the above.
   * `logfn` is refused: it is not thread-safe (see `loadLibrary` in binding.ts).
   */
  readonly decoderArgs?: DecoderArgs;
  readonly libraryPaths?: LibraryPaths;
  /**
   * The MLLR transform telephone streams (`StreamOptions.telephone`: μ-law, A-law, Twilio) decode
   * with; false: none, they decode with the plain model. Default: `TELEPHONE_MLLR`, the transform
   * shipped for the Debian en-us model, when `hmm` is that model (a transform is made for one
   * model), otherwise none. Other streams always get the plain model. See docs/telephony.md.
   */
  readonly telephoneMllr?: string | false;
}

export const DEFAULT_MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";
/**
 * The en-us model's MLLR transform for telephone audio as the server feeds it (G.711 at 8 kHz,
 * upsampled, with the default band extension), built by `scripts/telephone-mllr/build.sh`; see
 * `models/README.md` for its data and licence.
 */
export const TELEPHONE_MLLR = fileURLToPath(new URL("../models/telephone-mllr", import.meta.url));
/** A transform that changes nothing: it returns a decoder that served a telephone stream to the plain model. */
export const IDENTITY_MLLR = fileURLToPath(new URL("../models/identity-mllr", import.meta.url));
/** A stream this young has not shown its load yet (see `loadSnapshot`). */
const YOUNG_STREAM_MS = 3_000;
/**
 * The share of a decoding thread one live stream is assumed to need before any stream has shown
 * its own: what one stream cost the whole server on the bench machine (the decoder, its turns on a
 * shared thread, the main thread's share; docs/benchmarks.md, "Where the server's CPU goes"), so a
 * burst of new streams is not over-admitted.
 */
export const DEFAULT_STREAM_DEMAND = 0.14;
/**
 * The share of streams assumed to be speaking before enough have shown it: a call-centre call talks
 * about 40% of the time, one side of it less.
 */
export const DEFAULT_TALK_SHARE = 0.4;
/**
 * Silent streams count the 95th percentile of how many of them speak at once (a normal quantile of
 * the binomial count), so the streams let in keep their latency when more than the average speak.
 */
export const SPEAKERS_QUANTILE_Z = 1.645;
/** Silent streams count at least this share of a speaker, however silent the crowd has been. */
const MIN_TALK_SHARE = 0.1;
const TALK_SHARE_WINDOW_MS = 30_000;
/**
 * `earshot serve`'s decoder settings: at most 3000 active HMMs per frame, from the tuning sweep
 * (docs/benchmarks.md, "PocketSphinx tuning": less CPU per audio second at the same whole-file WER
 * on the eval set). The sweep's `topn: 2` is gone: decoders are lent to a new stream at every
 * utterance, so a decoder's words must not depend on what it decoded before, and with `topn: 2`
 * they did (other words in 1 of 70 file pairs on a decoder that had decoded another file first;
 * with the library's 4, none of 196). `maxhmmpf` still leaves a trace of the decoder's past in word
 * times (2 of 84 pairs: a word boundary 10 ms off; the library default, 0 of 84): docs/engines.md,
 * "Decoder settings".
 */
export const FAST_DECODER_ARGS: DecoderArgs = { maxhmmpf: 3000 };
export const DEFAULT_VAD_POSTSPEECH_FRAMES = 20;
/**
 * 8 warm decoders per process (per core): about as many utterances as a core decodes at once in
 * real time when they are interleaved (0.13 s of CPU per second of speech on the call-centre bench,
 * docs/benchmarks.md), so a crowd that starts speaking together never waits for `ps_init`, which
 * would take CPU at the worst moment. With 4, a crowd of 18 made 12 decoders during its first
 * utterances and 10 of them waited: final p95 1.0 s instead of 0.42 s.
 */
export const DEFAULT_DECODERS_PER_PROCESS = 8;
/** What a core can decode in real time at most: more decoders would only queue for the CPU. */
export const DEFAULT_MAX_DECODERS_PER_PROCESS = 10;
const DEFAULT_IDLE_DECODER_MS = 60_000;
const MODEL_PACKAGE = "pocketsphinx-en-us";

export class PocketSphinxEngine implements Engine {
  readonly name = "pocketsphinx";
  readonly capabilities: EngineCapabilities = {
    streaming: true,
    wordTimestamps: true,
    languages: ["en"],
    models: ["pocketsphinx-en-us"],
    sampleRate: SAMPLE_RATE,
  };
  /**
   * What a stream costs beyond the decoders, which are lent per utterance and bounded by
   * `maxDecoders` (91 MB for a process's first, 37 MB for each further one): its session in the
   * decoding process and the audio kept past its checkpoint (one utterance behind the VAD gate, at
   * most two minutes).
   */
  readonly streamMemoryBytes = 4 * 1024 * 1024;
  readonly #modelFiles: ReadonlyArray<readonly [flag: string, path: string]>;
  readonly #workers: WorkerPool<DecodingProcess>;
  #ready = false;
  #closed = false;
  #loading: Promise<void> | undefined;
  #nextStreamId = 1;
  /** What a speaking stream needs: the average of those speaking past their first seconds, at least the default. */
  #streamDemand = DEFAULT_STREAM_DEMAND;
  #talkShare = DEFAULT_TALK_SHARE;
  #talkShareAt = performance.now();
  /** Counters of processes that crashed, so the engine's totals never go down. */
  readonly #crashedCounts = { startup: 0, background: 0, waits: 0, destroyed: 0, failures: 0 };

  constructor(options: PocketSphinxOptions = {}) {
    const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
    const hmm = options.hmm ?? `${modelDir}/en-us`;
    const lm = options.lm ?? `${modelDir}/en-us.lm.bin`;
    const dict = options.dict ?? `${modelDir}/cmudict-en-us.dict`;
    this.#modelFiles = [
      ["hmm", hmm],
      ["lm", lm],
      ["dict", dict],
    ];
    const decoderArgs: DecoderArgs = {
      hmm,
      lm,
      dict,
      // The second (flat-lexicon) pass reruns the whole utterance inside ps_end_utt, between the pause
      // and the final, and did not improve WER (docs/benchmarks.md, "PocketSphinx defaults, measured").
      fwdflat: false,
      vad_postspeech: options.vadPostspeechFrames ?? DEFAULT_VAD_POSTSPEECH_FRAMES,
      ...(options.endpointing === "external" ? { remove_silence: false } : {}),
      ...(options.vadThreshold === undefined ? {} : { vad_threshold: options.vadThreshold }),
      ...options.decoderArgs,
    };
    const processes = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
    const perProcess = (total: number | undefined, fallback: number) =>
      total === undefined ? fallback : Math.max(1, Math.ceil(total / processes));
    const telephoneMllr =
      options.telephoneMllr ?? (options.hmm === undefined && options.modelDir === undefined ? TELEPHONE_MLLR : false);
    const config: WorkerConfig = {
      decoderArgs,
      libraryPaths: options.libraryPaths ?? DEFAULT_LIBRARY_PATHS,
      decoders: perProcess(options.decoders, DEFAULT_DECODERS_PER_PROCESS),
      maxDecoders: perProcess(options.maxDecoders, DEFAULT_MAX_DECODERS_PER_PROCESS),
      idleDecoderMs: options.idleDecoderMs ?? DEFAULT_IDLE_DECODER_MS,
      lend: options.lend ?? true,
      batchMs: options.batchMs ?? 100,
      shareModel: options.shareModel ?? true,
      ...(telephoneMllr === false ? {} : { telephoneMllr: { path: telephoneMllr, identity: IDENTITY_MLLR } }),
    };
    this.#workers = new WorkerPool({
      engine: "pocketsphinx",
      size: processes,
      start: (crashed) => DecodingProcess.start(config, crashed),
      onCrash: (process) => this.#keepCounts(process.pool),
    });
  }

  get ready(): boolean {
    return this.#ready;
  }

  load(): Promise<void> {
    if (this.#closed) return Promise.reject(new EngineUnavailableError("pocketsphinx engine is closed"));
    this.#loading ??= this.#load().catch((error: unknown) => {
      this.#loading = undefined;
      throw error;
    });
    return this.#loading;
  }

  async openStream(options: StreamOptions): Promise<EngineStream> {
    if (!this.#ready) throw new EngineUnavailableError("pocketsphinx engine is not loaded");
    if (options.language !== "en" && !options.language.startsWith("en-")) {
      throw new EngineUnavailableError(`pocketsphinx has no model for language ${options.language}`);
    }
    const { resumeFrom } = options;
    const from = resumeFrom === undefined ? undefined : parseSessionCheckpoint(resumeFrom.state);
    const startSample = resumeFrom?.atSample ?? options.startSample ?? 0;
    if (resumeFrom && (!Number.isSafeInteger(startSample) || startSample < 0)) {
      throw new ResumeStateError(`resume point ${startSample} is not a sample position`);
    }
    if (resumeFrom && (options.startSample ?? startSample) !== startSample) {
      throw new ResumeStateError(
        `a stream resumed at sample ${startSample} must start there, not at ${options.startSample}`,
      );
    }
    if (from && startSample < from.samples) {
      throw new ResumeStateError(`the checkpoint's ${from.samples} samples do not fit before sample ${startSample}`);
    }
    const openedAt = performance.now();
    const { wordTimestamps } = options;
    const telephone = options.telephone === true;
    const batch = options.batch === true;
    // A crashed process's streams come back here with their checkpoint, onto a live process.
    const open: LinkOpener = async (sink, from) => {
      const worker = await this.#workers.acquire();
      const link = new PocketSphinxStream(worker, this.#nextStreamId++, sink, openedAt);
      await worker.open(link, {
        type: "open",
        streamId: link.id,
        wordTimestamps,
        telephone,
        ...(batch ? { batch } : {}),
        ...(from ? { from } : {}),
      });
      return link;
    };
    return PocketSphinxEngineStream.open(open, startSample, from);
  }

  /**
   * The decoder pools of all processes together: decoders, free, lent, streams waiting for one,
   * made at start-up and in the background (never on the connect path: a stream opens without
   * one), and borrows that had to wait. Counters include processes that crashed.
   */
  get decoderPool(): DecoderPoolStats {
    const total = {
      size: 0,
      free: 0,
      lent: 0,
      making: 0,
      waiting: 0,
      created: { startup: this.#crashedCounts.startup, background: this.#crashedCounts.background },
      destroyed: this.#crashedCounts.destroyed,
      waits: this.#crashedCounts.waits,
      failures: this.#crashedCounts.failures,
    };
    for (const { pool } of this.#workers.members) {
      if (!pool) continue;
      total.size += pool.size;
      total.free += pool.free;
      total.lent += pool.lent;
      total.making += pool.making;
      total.waiting += pool.waiting;
      total.created.startup += pool.created.startup;
      total.created.background += pool.created.background;
      total.destroyed += pool.destroyed;
      total.waits += pool.waits;
      total.failures += pool.failures;
    }
    return total;
  }

  /**
   * The running decoding processes, with the streams open or opening on each, in the order the
   * engine fills them. For operations (which process to watch) and failure tests (which one to kill);
   * a process that crashed is gone from the list at once, its replacement appears once started.
   */
  get processes(): ReadonlyArray<{ readonly pid: number; readonly streams: number }> {
    return this.#workers.members.flatMap((member) =>
      member.pid === undefined ? [] : [{ pid: member.pid, streams: member.streamCount }],
    );
  }

  /**
   * Utilization is the real-time demand of the open streams (see `PocketSphinxStream.demand`) as a
   * share of all decoding threads: 1 means live streams need every thread all the time. Streams
   * sent faster than real time count at their real-time factor, not at the thread they occupy.
   * Decoders are lent per utterance, so what counts is speech, not connections: a stream in an
   * utterance counts at least what a speaking stream needs on average (never less than
   * `DEFAULT_STREAM_DEMAND`), and a silent one that times the share of streams speaking lately
   * (`#talkShare`: `DEFAULT_TALK_SHARE` before there is data, at least `MIN_TALK_SHARE`). So mostly
   * silent calls are admitted far beyond the streams the threads could decode at once, and a crowd
   * that connects silent is still counted for the speech it will bring.
   */
  loadSnapshot(): EngineLoad {
    const workers = this.#workers.members;
    const loads = workers.map((worker) => worker.streamLoads());
    const all = loads.flat();
    const speaking = all.filter((load) => load.speaking && load.ageMs >= YOUNG_STREAM_MS && load.demand > 0);
    if (speaking.length > 0) {
      const measured = speaking.reduce((sum, load) => sum + load.demand, 0) / speaking.length;
      this.#streamDemand = Math.max(DEFAULT_STREAM_DEMAND, measured);
    }
    const perSpeaker = this.#streamDemand;
    const mature = all.filter((load) => load.ageMs >= YOUNG_STREAM_MS);
    this.#updateTalkShare(mature.length, mature.filter((load) => load.speaking).length);
    // A silent stream will speak again: it counts the share of time streams have been speaking.
    const talkShare = this.#talkShare;
    const perSilent = talkShare * perSpeaker;
    let streams = 0;
    let demand = 0;
    // Silent streams start speaking independently (each with the talk share's odds): what counts is a
    // high quantile of how many speak at once, not the average, or the admitted would overload the
    // server whenever more than the average speak (docs/operations.md, "Admission control").
    let variance = 0;
    let maxBacklogMs = 0;
    for (const [i, worker] of workers.entries()) {
      streams += worker.streamCount;
      for (const load of loads[i] ?? []) {
        if (load.speaking) {
          demand += Math.max(load.demand, perSpeaker);
        } else {
          demand += Math.max(load.demand, perSilent);
          variance += perSpeaker * perSpeaker * talkShare * (1 - talkShare);
        }
      }
      maxBacklogMs = Math.max(maxBacklogMs, worker.maxBacklogMs);
    }
    demand += SPEAKERS_QUANTILE_Z * Math.sqrt(variance);
    const threads = workers.length;
    const pool = this.decoderPool;
    return {
      streams,
      utilization: threads > 0 ? Math.min(1, demand / threads) : 0,
      threads,
      // One more stream, not speaking yet, for streams accepted but not open yet.
      streamDemand: perSilent,
      maxBacklogMs,
      decoders: {
        size: pool.size,
        free: pool.free,
        lent: pool.lent,
        waiting: pool.waiting,
        created: { startup: pool.created.startup, background: pool.created.background, connect: 0 },
        waits: pool.waits,
        destroyed: pool.destroyed,
      },
    };
  }

  /**
   * The share of open streams in an utterance, smoothed over about 30 s (from 4 streams on; before,
   * `DEFAULT_TALK_SHARE`), never below `MIN_TALK_SHARE`: mostly silent calls are admitted in
   * numbers, and a crowd that connected silent is still counted for the speech it will bring.
   */
  #updateTalkShare(streams: number, speaking: number): void {
    const now = performance.now();
    const elapsed = now - this.#talkShareAt;
    this.#talkShareAt = now;
    if (streams < 4) return;
    const weight = 1 - Math.exp(-elapsed / TALK_SHARE_WINDOW_MS);
    const share = this.#talkShare + weight * (speaking / streams - this.#talkShare);
    this.#talkShare = Math.min(1, Math.max(MIN_TALK_SHARE, share));
  }

  #keepCounts(pool: DecoderPoolStats | undefined): void {
    if (!pool) return;
    const kept = this.#crashedCounts;
    kept.startup += pool.created.startup;
    kept.background += pool.created.background;
    kept.waits += pool.waits;
    kept.destroyed += pool.destroyed;
    kept.failures += pool.failures;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#ready = false;
    await this.#workers.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #load(): Promise<void> {
    for (const [flag, path] of this.#modelFiles) {
      try {
        await access(path, constants.R_OK);
      } catch {
        throw new EngineUnavailableError(
          `pocketsphinx model file missing (-${flag}): ${path}; install the Debian package ${MODEL_PACKAGE} or set the path`,
        );
      }
    }
    await this.#workers.start();
    // The warm decoders' counts are in before the engine is ready (metrics, /readyz).
    await Promise.race([
      Promise.all(this.#workers.members.map((member) => member.poolReported)),
      new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
    ]);
    this.#ready = true;
  }
}
