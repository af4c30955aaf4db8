/**
 * sherpa-onnx models, measured like PocketSphinx: the engine alone on the English eval set (WER,
 * real-time factor) and on its 8 kHz μ-law copy, throughput with several streams decoded at once
 * (batched; audio seconds per CPU second of the host process is capacity per core), and paced
 * streaming through the real server (latency). Models come from `earshot models` (the cache) or
 * `--model-dir`; with none present, the report says so instead of a number.
 */
import { readFileSync } from "node:fs";
import { readWav, toMono16k } from "@earshot/audio";
import { SherpaOnnxEngine, type SherpaOnnxOptions } from "@earshot/engine-sherpa";
import type { Engine } from "@earshot/engines";
import { loadPcm, type Utterance, type WerResult, wer } from "@earshot/test-support";
import { decodePcm } from "./engine-bench.js";
import { percentile, sum } from "./stats.js";
import { benchStreaming, STREAMING_SETUPS } from "./streaming-bench.js";

/** Streams decoded at once for the throughput rows. */
export const THROUGHPUT_STREAMS = [1, 4, 8] as const;
const CLOCK_TICKS_PER_SECOND = 100;

export interface ThroughputRow {
  readonly streams: number;
  /** Audio seconds decoded per wall second, all streams together. */
  readonly realTimeStreams: number;
  /** Audio seconds per CPU second of the host process: real-time streams one core carries. */
  readonly perCore: number;
}

export interface NeuralModelResult {
  readonly name: string;
  readonly languages: readonly string[];
  readonly dir: string;
  /** English eval set, engine alone; undefined for a model without English. */
  readonly english?: { readonly wer: WerResult; readonly rtf: number };
  readonly telephone?: { readonly wer: WerResult };
  readonly throughput: readonly ThroughputRow[];
  readonly streaming?: {
    readonly label: string;
    readonly wer: WerResult;
    readonly finalP50Ms: number;
    readonly finalP95Ms: number;
    readonly firstPartialP50Ms: number;
  };
  /** Why a part was not measured (e.g. no Mandarin eval set). */
  readonly notes: readonly string[];
}

export interface NeuralBenchOptions {
  readonly english: readonly Utterance[];
  readonly telephone: readonly Utterance[];
  readonly engineOptions?: Omit<SherpaOnnxOptions, "models">;
  /** Paced streaming through the server takes the set's real duration; off for quick runs. */
  readonly streaming?: boolean;
  readonly log?: (line: string) => void;
}

export async function benchNeuralModel(dir: string, options: NeuralBenchOptions): Promise<NeuralModelResult> {
  const log = options.log ?? (() => {});
  const engine = new SherpaOnnxEngine({ ...options.engineOptions, models: [dir] });
  await engine.load();
  const [name = ""] = engine.capabilities.models;
  const languages = engine.capabilities.modelLanguages?.[name] ?? [];
  const notes: string[] = [];
  const english = languages.includes("en");
  try {
    const streamOptions = { language: languages[0] ?? "en", model: name, wordTimestamps: true };
    let englishResult: NeuralModelResult["english"];
    let telephone: NeuralModelResult["telephone"];
    if (english) {
      const warmUp = options.english[0];
      if (warmUp) await decode(engine, streamOptions, loadPcm(warmUp.path));
      const files = [];
      for (const u of options.english) files.push({ u, ...(await decode(engine, streamOptions, loadPcm(u.path))) });
      const audioSeconds = sum(options.english.map((u) => u.seconds));
      englishResult = {
        wer: wer(files.map((f) => [f.u.text, f.text])),
        rtf: sum(files.map((f) => f.wallMs)) / 1000 / audioSeconds,
      };
      log(`  ${name}: English WER ${(englishResult.wer.wer * 100).toFixed(1)}%, RTF ${englishResult.rtf.toFixed(3)}`);
      const phone = [];
      for (const u of options.telephone)
        phone.push([u.text, (await decode(engine, streamOptions, loadTelephone(u.path))).text] as const);
      telephone = { wer: wer(phone) };
      log(`  ${name}: 8 kHz μ-law WER ${(telephone.wer.wer * 100).toFixed(1)}%`);
    } else {
      notes.push(
        `WER/CER: not measured: no ${languages.join("/")} eval set here (only English audio in ../shared/eval)`,
      );
    }
    // Speed does not depend on the language spoken: English audio serves every model.
    const throughput: ThroughputRow[] = [];
    for (const streams of THROUGHPUT_STREAMS) {
      throughput.push(await measureThroughput(engine, streamOptions, options.english, streams));
      log(`  ${name}: ${streams} streams at once: ${throughput.at(-1)?.perCore.toFixed(1)} real-time streams per core`);
    }
    let streaming: NeuralModelResult["streaming"];
    if (english && options.streaming !== false) {
      const setup = STREAMING_SETUPS[0];
      if (setup) {
        const server = new SherpaOnnxEngine({ ...options.engineOptions, models: [dir] });
        const [run] = await benchStreaming(options.english, [setup], undefined, { engine: server, model: name });
        if (run) {
          const finals = run.files.flatMap((f) => (f.finalLatencyMs === undefined ? [] : [f.finalLatencyMs]));
          const partials = run.files.flatMap((f) =>
            f.firstPartialLatencyMs === undefined ? [] : [f.firstPartialLatencyMs],
          );
          streaming = {
            label: setup.label,
            wer: run.wer,
            finalP50Ms: percentile(finals, 50),
            finalP95Ms: percentile(finals, 95),
            firstPartialP50Ms: percentile(partials, 50),
          };
          log(`  ${name}: streaming final p50 ${streaming.finalP50Ms.toFixed(0)} ms`);
        }
      }
    }
    return {
      name,
      languages,
      dir,
      ...(englishResult ? { english: englishResult } : {}),
      ...(telephone ? { telephone } : {}),
      throughput,
      ...(streaming ? { streaming } : {}),
      notes,
    };
  } finally {
    await engine.close();
  }
}

type Options = Parameters<Engine["openStream"]>[0];

/** The finals lower-cased (English models spell in upper case) and the wall time. */
async function decode(engine: Engine, options: Options, pcm: Int16Array): Promise<{ text: string; wallMs: number }> {
  const { finals, wallMs } = await decodePcm(engine, options, pcm);
  return { text: finals.join(" ").toLowerCase(), wallMs };
}

/** `streams` files decoded at once at full speed (the host batches them); CPU from /proc. */
async function measureThroughput(
  engine: SherpaOnnxEngine,
  options: Options,
  set: readonly Utterance[],
  streams: number,
): Promise<ThroughputRow> {
  const files = Array.from({ length: streams }, (_, i) => set[i % set.length]).filter((u) => u !== undefined);
  const cpuBefore = hostCpuSeconds(engine);
  const started = performance.now();
  await Promise.all(files.map((u) => decode(engine, options, loadPcm(u.path))));
  const wallSeconds = (performance.now() - started) / 1000;
  const cpuSeconds = hostCpuSeconds(engine) - cpuBefore;
  const audioSeconds = sum(files.map((u) => u.seconds));
  return { streams, realTimeStreams: audioSeconds / wallSeconds, perCore: audioSeconds / Math.max(cpuSeconds, 1e-3) };
}

function hostCpuSeconds(engine: SherpaOnnxEngine): number {
  return sum(
    engine.hostPids.map((pid) => {
      // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ")" of the name.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").at(-1)?.trim().split(" ") ?? [];
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    }),
  );
}

function loadTelephone(path: string): Int16Array {
  const wav = readWav(readFileSync(path), { output: "int16" });
  return toMono16k({ sampleRate: wav.sampleRate, channels: wav.samples });
}
