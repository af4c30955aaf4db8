/**
 * sherpa-onnx streaming transducers (zipformer, zipformer2, lstm, conformer) as an `Engine`.
 *
 * Nothing native runs in this process: `load()` checks each model in plain TypeScript (preflight),
 * then loads it once in a throwaway child (canary), then starts the host process(es) that hold one
 * recognizer per model and decode every stream, batched. sherpa-onnx brings its own onnxruntime,
 * which must not share the server process with onnxruntime-node (the Silero VAD), and a bad model
 * or a native fault aborts the process it is in: here, only a host, whose streams then get an
 * error event while the server keeps running; the next stream starts a fresh host.
 */

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, join, normalize } from "node:path";
import type { Engine, EngineCapabilities, EngineLoad, EngineStream, StreamOptions } from "@earshot/engines";
import { EngineUnavailableError, refuseResume, WorkerPool } from "@earshot/engines";
import { SAMPLE_RATE } from "@earshot/protocol";
import { canaryLoad, DEFAULT_CANARY_TIMEOUT_MS } from "./canary.js";
import { KeytermsUnsupportedError } from "./errors.js";
import type { HostConfig, HostModel } from "./host-messages.js";
import { addStats, type BatchStats, HostProcess } from "./host-process.js";
import { MODEL_MANIFEST_FILE, type ModelManifest, type ModelSpec } from "./models/model-spec.js";
import { readOnnxHeader } from "./onnx-metadata.js";
import { checkModel, type DecodingMethod, preflightModel } from "./preflight.js";
import type { RecognizerSettings } from "./recognizer-config.js";
import { SherpaStream } from "./stream.js";
import { OUTPUT_FRAME_MS } from "./words.js";

export interface SherpaOnnxOptions {
  /** Model directories (with `earshot-model.json`, or placed by hand), or a directory with its spec. */
  readonly models: ReadonlyArray<string | { readonly dir: string; readonly spec: ModelSpec }>;
  /** onnxruntime threads per decoding call; default 1 (set it: the default affinity logic warns). */
  readonly numThreads?: number;
  /** Default greedy_search; key terms need modified_beam_search. */
  readonly decodingMethod?: DecodingMethod;
  /** Beam width for modified_beam_search; default 4 (sherpa-onnx's). */
  readonly maxActivePaths?: number;
  /** Trailing silence after speech that ends an utterance, unless a stream sets its own; default 1200 (sherpa-onnx's rule 2). */
  readonly endpointingMs?: number;
  /** An endpoint after this much audio without any speech; default 2400 (sherpa-onnx's rule 1). */
  readonly silenceEndpointMs?: number;
  /** An utterance this long is ended whatever follows; default 20000 (sherpa-onnx's rule 3). */
  readonly maxUtteranceMs?: number;
  /** Streams per `decodeStreams` call, at most; default 5 (sherpa-onnx's C++ server). */
  readonly maxBatch?: number;
  /** Host processes, each with every model loaded; default 1. Streams go to the least busy. */
  readonly processes?: number;
  /** Recognizers per host for distinct key-term sets (each a copy of its model); default 4. */
  readonly maxKeytermRecognizers?: number;
  /**
   * Zeros fed before a forced final so the last partial chunk is decoded; default one encoder chunk
   * of the model (its `T` feature frames of 10 ms, plus one output frame).
   */
  readonly tailPaddingMs?: number;
  /** The trial load of each model in a child before serving it; default 60 s. */
  readonly canaryTimeoutMs?: number;
}

export class SherpaOnnxEngine implements Engine {
  readonly name = "sherpa-onnx";
  readonly #options: SherpaOnnxOptions;
  readonly #settings: RecognizerSettings;
  #models: HostModel[] = [];
  readonly #declaredNames: string[];
  readonly #hosts: WorkerPool<HostProcess>;
  #ready = false;
  #closed = false;
  #loading: Promise<void> | undefined;
  #nextStreamId = 1;
  /** Counters of hosts that are gone, so stats survive a crash. */
  #pastStats: BatchStats = { batches: 0, streamsDecoded: 0, maxBatch: 0 };

  constructor(options: SherpaOnnxOptions) {
    this.#options = options;
    this.#declaredNames = options.models.map((entry) =>
      typeof entry === "string" ? declaredName(entry) : entry.spec.name,
    );
    this.#settings = {
      numThreads: Math.max(1, Math.floor(options.numThreads ?? 1)),
      decodingMethod: options.decodingMethod ?? "greedy_search",
      maxActivePaths: options.maxActivePaths ?? 4,
      silenceEndpointMs: options.silenceEndpointMs ?? 2400,
      maxUtteranceMs: options.maxUtteranceMs ?? 20_000,
    };
    this.#hosts = new WorkerPool({
      engine: "sherpa-onnx",
      size: options.processes ?? 1,
      start: (crashed) => HostProcess.start(this.#hostConfig(), crashed),
      onCrash: (crashed) => this.#keepStats(crashed),
    });
  }

  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Before a load succeeds, `models` names what was configured (manifest names, or directory
   * names), so a router can refuse a stream for a model that failed with the reason.
   */
  get capabilities(): EngineCapabilities {
    const names = this.#models.length > 0 ? this.#models.map((model) => model.spec.name) : this.#declaredNames;
    return {
      streaming: true,
      wordTimestamps: true,
      languages: [...new Set(this.#models.flatMap((model) => model.spec.languages))],
      models: names,
      modelLanguages: Object.fromEntries(this.#models.map((model) => [model.spec.name, model.spec.languages])),
      sampleRate: SAMPLE_RATE,
      // Hotwords work only with modified_beam_search; BPE units need bpe.vocab to tokenize them.
      keytermModels:
        this.#settings.decodingMethod === "modified_beam_search"
          ? this.#models.filter((model) => keytermsPossible(model.spec)).map((model) => model.spec.name)
          : [],
    };
  }

  /** Batching counters over every host this engine has run. */
  get batchStats(): BatchStats {
    return this.#hosts.members.reduce((sum, host) => addStats(sum, host.stats), this.#pastStats);
  }

  /** Host process ids (for tests that kill one). */
  get hostPids(): number[] {
    return this.#hosts.members.flatMap((host) => (host.alive && host.pid !== undefined ? [host.pid] : []));
  }

  load(): Promise<void> {
    if (this.#closed) return Promise.reject(new EngineUnavailableError("sherpa-onnx engine is closed"));
    this.#loading ??= this.#load().catch((error: unknown) => {
      this.#loading = undefined;
      throw error;
    });
    return this.#loading;
  }

  async openStream(options: StreamOptions): Promise<EngineStream> {
    if (!this.#ready) throw new EngineUnavailableError("sherpa-onnx engine is not loaded");
    refuseResume(this.name, options);
    const model = this.#pick(options);
    const keyterms = options.keyterms ?? [];
    if (keyterms.length > 0 && !(this.capabilities.keytermModels ?? []).includes(model.spec.name)) {
      throw new KeytermsUnsupportedError(
        `model ${model.spec.name} cannot honour keyterms with ${this.#settings.decodingMethod}` +
          (keytermsPossible(model.spec) ? "" : ` (its ${model.spec.modelingUnit} units need bpe.vocab)`),
      );
    }
    const host = await this.#hosts.acquire();
    const stream = new SherpaStream(host, this.#nextStreamId++, options.startSample ?? 0);
    await host.open(stream, {
      type: "open",
      streamId: stream.id,
      model: model.spec.name,
      endpointingMs: options.endpointingMs ?? this.#options.endpointingMs ?? 1200,
      wordTimestamps: options.wordTimestamps,
      keyterms,
    });
    return stream;
  }

  /** Utilization is the busiest share of decoding time across hosts, each a single thread of JS plus `numThreads` of onnxruntime. */
  loadSnapshot(): EngineLoad {
    const hosts = this.#hosts.members.filter((host) => host.alive);
    let utilization = 0;
    let maxBacklogMs = 0;
    let streams = 0;
    for (const host of hosts) {
      utilization += host.utilization;
      maxBacklogMs = Math.max(maxBacklogMs, host.maxBacklogMs);
      streams += host.streamCount;
    }
    const threads = Math.max(1, hosts.length) * this.#settings.numThreads;
    return {
      streams,
      utilization: hosts.length > 0 ? utilization / hosts.length : 0,
      threads: Math.min(threads, availableParallelism()),
      maxBacklogMs,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#ready = false;
    await this.#hosts.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #load(): Promise<void> {
    const method = this.#settings.decodingMethod;
    const models: HostModel[] = [];
    for (const entry of this.#options.models) {
      let dir: string;
      let spec: ModelSpec;
      if (typeof entry === "string") {
        dir = entry;
        spec = await preflightModel(entry, { decodingMethod: method });
      } else {
        ({ dir, spec } = entry);
        await checkModel(dir, spec, { decodingMethod: method });
      }
      models.push({ dir, spec, tailPaddingMs: this.#options.tailPaddingMs ?? (await chunkMs(dir, spec)) });
    }
    const names = models.map((model) => model.spec.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate) throw new EngineUnavailableError(`two sherpa-onnx models are named ${duplicate}`);
    if (models.length === 0) throw new EngineUnavailableError("sherpa-onnx engine has no models");
    const timeoutMs = this.#options.canaryTimeoutMs ?? DEFAULT_CANARY_TIMEOUT_MS;
    for (const model of models) await canaryLoad(model.dir, model.spec, { settings: this.#settings, timeoutMs });
    this.#models = models;
    await this.#hosts.start();
    this.#ready = true;
  }

  #hostConfig(): HostConfig {
    return {
      models: this.#models,
      settings: this.#settings,
      maxBatch: Math.max(1, Math.floor(this.#options.maxBatch ?? 5)),
      maxKeytermRecognizers: Math.max(0, Math.floor(this.#options.maxKeytermRecognizers ?? 4)),
    };
  }

  /** The model named (the server has already matched it to the stream's language: `modelLanguages`). */
  #pick(options: StreamOptions): HostModel {
    const named = this.#models.find((model) => model.spec.name === options.model);
    if (!named) throw new EngineUnavailableError(`sherpa-onnx has no model ${options.model}`);
    return named;
  }

  /** A crashed host leaves the pool: its counters stay in the totals. */
  #keepStats(crashed: HostProcess): void {
    this.#pastStats = addStats(this.#pastStats, crashed.stats);
  }
}

/** One encoder chunk in ms: `T` feature frames of 10 ms (checked present by the preflight), plus an output frame. */
async function chunkMs(dir: string, spec: ModelSpec): Promise<number> {
  const { metadata } = await readOnnxHeader(join(dir, spec.files.encoder));
  return Number(metadata.get("T")) * 10 + OUTPUT_FRAME_MS;
}

function keytermsPossible(spec: ModelSpec): boolean {
  return spec.modelingUnit === "cjkchar" || spec.files.bpeVocab !== undefined;
}

/** A model directory's name before it is checked: its manifest's, else the directory's own (as `inferModelSpec` names it). */
function declaredName(dir: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, MODEL_MANIFEST_FILE), "utf8")) as Partial<ModelManifest>;
    if (typeof manifest.spec?.name === "string") return manifest.spec.name;
  } catch {
    // No readable manifest: the load reports what is wrong with the directory.
  }
  return basename(normalize(dir));
}
