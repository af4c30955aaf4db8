/**
 * Several engines behind one: a server that runs PocketSphinx beside neural models sends each
 * stream to the engine that serves its model (or, for the default model, its language). One engine
 * failing to load (a corrupt model) leaves the others serving; streams asking for the failed
 * engine's models get its load error.
 */
import { availableParallelism } from "node:os";
import { SAMPLE_RATE } from "@earshot/protocol";
import {
  assertServableEngine,
  type DecoderPoolLoad,
  type Engine,
  type EngineCapabilities,
  type EngineLoad,
  type EngineStream,
  EngineUnavailableError,
  type StreamOptions,
} from "./contract.js";

export class EngineRouter implements Engine {
  readonly engines: readonly Engine[];
  readonly #loadErrors = new Map<Engine, Error>();

  /**
   * The first engine's first model is the server's default model. Throws `EngineIncompatibleError`
   * for an engine that is not streaming or takes another rate than `SAMPLE_RATE`.
   */
  constructor(engines: readonly Engine[]) {
    if (engines.length === 0) throw new RangeError("EngineRouter needs at least one engine");
    for (const engine of engines) assertServableEngine(engine);
    this.engines = engines;
  }

  get name(): string {
    return this.engines.map((engine) => engine.name).join("+");
  }

  /** The costliest engine's: a stream may go to any of them. */
  get streamMemoryBytes(): number | undefined {
    const costs = this.engines.flatMap((engine) =>
      engine.streamMemoryBytes === undefined ? [] : [engine.streamMemoryBytes],
    );
    return costs.length > 0 ? Math.max(...costs) : undefined;
  }

  get capabilities(): EngineCapabilities {
    const modelLanguages: Record<string, readonly string[]> = {};
    for (const engine of this.engines) {
      const { models, languages } = engine.capabilities;
      for (const model of models) {
        modelLanguages[model] ??= engine.capabilities.modelLanguages?.[model] ?? languages;
      }
    }
    const all = this.engines.map((engine) => engine.capabilities);
    const unavailableModels = new Map<string, Error>();
    for (const engine of this.engines) {
      for (const [model, error] of engine.capabilities.unavailableModels ?? []) unavailableModels.set(model, error);
      const loadError = this.#loadErrors.get(engine);
      if (loadError && !engine.ready) {
        for (const model of engine.capabilities.models) unavailableModels.set(model, loadError);
      }
    }
    return {
      streaming: true,
      // A stream may reach any engine: it gets words only when every engine gives them.
      wordTimestamps: all.every((c) => c.wordTimestamps),
      languages: unique(all.flatMap((c) => c.languages)),
      models: Object.keys(modelLanguages),
      sampleRate: SAMPLE_RATE,
      modelLanguages,
      keytermModels: unique(all.flatMap((c) => c.keytermModels ?? [])),
      ...(unavailableModels.size > 0 ? { unavailableModels } : {}),
    };
  }

  /** Ready while any engine is: a broken model must not take the others down. */
  get ready(): boolean {
    return this.engines.some((engine) => engine.ready);
  }

  /** Errors of engines that failed to load, by engine name. */
  get loadErrors(): ReadonlyMap<string, Error> {
    return new Map([...this.#loadErrors].map(([engine, error]) => [engine.name, error]));
  }

  /** Loads every engine; rejects only when none loads (with the first engine's error). */
  async load(): Promise<void> {
    const results = await Promise.allSettled(this.engines.map((engine) => engine.load()));
    results.forEach((result, i) => {
      const engine = this.engines[i];
      if (!engine) return;
      if (result.status === "rejected") this.#loadErrors.set(engine, asError(result.reason));
      else this.#loadErrors.delete(engine);
    });
    if (!this.ready) {
      const first = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      throw first ? asError(first.reason) : new EngineUnavailableError("no engine loaded");
    }
  }

  async openStream(options: StreamOptions): Promise<EngineStream> {
    const engine = this.engines.find((e) => e.capabilities.models.includes(options.model));
    if (!engine) throw new EngineUnavailableError(`no engine serves model "${options.model}"`);
    const loadError = this.#loadErrors.get(engine);
    if (!engine.ready && loadError) throw loadError;
    return engine.openStream(options);
  }

  /** The engines share the machine's cores: their demands in cores add up. */
  loadSnapshot(): EngineLoad {
    const cores = availableParallelism();
    let streams = 0;
    let demand = 0;
    let threads = 0;
    let streamDemand = 0;
    let maxBacklogMs = 0;
    let decoders: DecoderPoolLoad | undefined;
    for (const engine of this.engines) {
      const load = engine.loadSnapshot?.();
      if (!load) continue;
      if (load.decoders) decoders = decoders ? addPools(decoders, load.decoders) : load.decoders;
      const engineThreads = load.threads ?? cores;
      streams += load.streams;
      demand += load.utilization * engineThreads;
      threads += engineThreads;
      streamDemand = Math.max(streamDemand, load.streamDemand ?? 0);
      maxBacklogMs = Math.max(maxBacklogMs, load.maxBacklogMs);
    }
    return {
      streams,
      utilization: threads === 0 ? 0 : demand / threads,
      threads,
      ...(streamDemand > 0 ? { streamDemand } : {}),
      maxBacklogMs,
      ...(decoders ? { decoders } : {}),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.engines.map((engine) => engine.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function addPools(a: DecoderPoolLoad, b: DecoderPoolLoad): DecoderPoolLoad {
  return {
    size: a.size + b.size,
    free: a.free + b.free,
    lent: a.lent + b.lent,
    waiting: a.waiting + b.waiting,
    created: {
      startup: a.created.startup + b.created.startup,
      background: a.created.background + b.created.background,
      connect: a.created.connect + b.created.connect,
    },
    waits: a.waits + b.waits,
    destroyed: a.destroyed + b.destroyed,
  };
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
