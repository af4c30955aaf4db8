/**
 * PocketSphinx (5prealpha, the Debian `pocketsphinx` packages) as an `Engine`. Decoding runs in
 * child processes, each hosting the decoders of many streams; the server process never calls native
 * code, so a decoder crash (even a heap corruption that aborts) costs the streams of one process,
 * which the pool replaces, not the server.
 */

import { access, constants } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { EngineCapabilities, EngineLoad, EngineStream, StreamOptions } from "@earshot/engines";
import { type Engine, EngineUnavailableError, WorkerPool } from "@earshot/engines";
import { SAMPLE_RATE } from "@earshot/protocol";
import { DEFAULT_LIBRARY_PATHS, type DecoderArgs, type LibraryPaths } from "./binding.js";
import { DecodingProcess } from "./decoding-process.js";
import type { WorkerConfig } from "./messages.js";
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
  /** Idle decoders each process keeps for reuse (100+ MB each); default 2. */
  readonly maxIdleDecoders?: number;
  /**
   * Once a process is busy (half of the last second decoding), pushes smaller than this (ms) wait
   * until this much is queued, it has waited this long, or a flush or the end follows; below 30%
   * busy, every push is decoded at once. Default 100; 0 turns batching off. See host.ts.
   */
  readonly batchMs?: number;
  /**
   * Further decoder flags without the dash, e.g. `{ beam: "1e-60" }`; they override the above.
   * `logfn` is refused: it is not thread-safe (see `loadLibrary` in binding.ts).
   */
  readonly decoderArgs?: DecoderArgs;
  readonly libraryPaths?: LibraryPaths;
}

export const DEFAULT_MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";
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
 * Tuned for speed by the tuning sweep (docs/benchmarks.md, "PocketSphinx tuning"): at most 3000
 * active HMMs per frame and the top 2 Gaussians roughly halve CPU per audio second at the same
 * whole-file WER on the eval set. `earshot serve` uses them. They are not the library default yet: with them, the PocketSphinx
 * fault-injection test's transcript differed from the uninterrupted run in 2 of 5 runs (decoding
 * itself is deterministic and chunking-invariant with them; what the decoder is given after some
 * resumes is not yet explained), against 0 of 4 without.
 */
export const FAST_DECODER_ARGS: DecoderArgs = { maxhmmpf: 3000, topn: 2 };
export const DEFAULT_VAD_POSTSPEECH_FRAMES = 20;
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
   * A decoder of the en-us model with its search state: about 100 MB of RSS per stream
   * (docs/benchmarks.md, "Load"), so a server's default stream limit leaves room for that many.
   */
  readonly streamMemoryBytes = 100 * 1024 * 1024;
  readonly #modelFiles: ReadonlyArray<readonly [flag: string, path: string]>;
  readonly #workers: WorkerPool<DecodingProcess>;
  #ready = false;
  #closed = false;
  #loading: Promise<void> | undefined;
  #nextStreamId = 1;
  /** The average demand of streams past their first seconds; the prior for young ones. */
  #streamDemand = DEFAULT_STREAM_DEMAND;

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
    const config: WorkerConfig = {
      decoderArgs,
      libraryPaths: options.libraryPaths ?? DEFAULT_LIBRARY_PATHS,
      maxIdleDecoders: options.maxIdleDecoders ?? 2,
      batchMs: options.batchMs ?? 100,
    };
    this.#workers = new WorkerPool({
      engine: "pocketsphinx",
      size: options.workers ?? availableParallelism(),
      start: (crashed) => DecodingProcess.start(config, crashed),
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
    const worker = this.#workers.leastLoaded();
    if (!worker) throw new EngineUnavailableError("pocketsphinx has no running decoding process");
    const stream = new PocketSphinxStream(worker, this.#nextStreamId++, options.startSample ?? 0);
    await worker.open(stream, { type: "open", streamId: stream.id, wordTimestamps: options.wordTimestamps });
    return stream;
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
   * Streams open less than 3 s count at least as much as the average decoding stream (before any:
   * `DEFAULT_STREAM_DEMAND`), so streams that all connect at once are admitted only as far as they fit.
   */
  loadSnapshot(): EngineLoad {
    const workers = this.#workers.members;
    const loads = workers.map((worker) => worker.streamLoads());
    const mature = loads.flat().filter((load) => load.ageMs >= YOUNG_STREAM_MS && load.demand > 0);
    if (mature.length > 0) this.#streamDemand = mature.reduce((sum, load) => sum + load.demand, 0) / mature.length;
    const prior = this.#streamDemand;
    let streams = 0;
    let utilization = 0;
    let maxBacklogMs = 0;
    for (const [i, worker] of workers.entries()) {
      streams += worker.streamCount;
      // A stream still opening or younger than YOUNG_STREAM_MS counts at least the prior.
      let demand = worker.openingCount * prior;
      for (const load of loads[i] ?? []) {
        demand += load.ageMs < YOUNG_STREAM_MS ? Math.max(load.demand, prior) : load.demand;
      }
      utilization += Math.min(1, demand);
      maxBacklogMs = Math.max(maxBacklogMs, worker.maxBacklogMs);
    }
    const threads = workers.length;
    return {
      streams,
      utilization: threads > 0 ? utilization / threads : 0,
      threads,
      streamDemand: this.#streamDemand,
      maxBacklogMs,
    };
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
    this.#ready = true;
  }
}
