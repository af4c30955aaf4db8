/**
 * One PocketSphinx setting measured on the eval set against a reference setting, in a process of
 * its own that `tuning-bench.ts` starts once per setting, pinned to one CPU. Two engines,
 * `PocketSphinxEngine({ workers: 1, decoderArgs })` with each setting's flags, decode every file in
 * turn (the tuned one first on even files, the reference first on odd ones), pushed in 100 ms pieces
 * as fast as possible as in engine-bench.ts. Only one decodes at a time, so the process's CPU time
 * across a file belongs to that engine; and as the two alternate every second or so on the same CPU,
 * other work on the machine slows both alike, so their ratio holds when absolute CPU times do not.
 */
import { loadavg } from "node:os";
import { PocketSphinxEngine, type PocketSphinxOptions } from "@earshot/engine-pocketsphinx";
import { loadEvalSet, loadPcm, type Utterance, type WerResult, wer } from "@earshot/test-support";
import { sum } from "./stats.js";

export type DecoderArgs = NonNullable<PocketSphinxOptions["decoderArgs"]>;

export interface FileDecode {
  readonly id: string;
  readonly hypothesis: string;
  /** Process CPU time (all threads, user + system) across the file. */
  readonly cpuMs: number;
  readonly wallMs: number;
  /** The engine's `usage.processingMs`: wall time of the worker inside the decoder. */
  readonly processingMs: number;
}

export interface EngineTotals {
  readonly wer: WerResult;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly processingSeconds: number;
  readonly files: readonly FileDecode[];
}

/** What tuning-bench.ts sends: the `decoderArgs` of the two engines. */
export interface TuningRequest {
  readonly tuned: DecoderArgs;
  readonly reference: DecoderArgs;
}

export interface TuningRun {
  readonly request: TuningRequest;
  readonly audioSeconds: number;
  /** The engine with the tuned flags. */
  readonly setting: EngineTotals;
  /** The engine with the reference flags, decoding alternately with it. */
  readonly reference: EngineTotals;
  /** `engine.load()` of the setting's engine: starting the worker and creating its first decoder. */
  readonly loadMs: number;
  /** RSS before any engine existed, and the peak once the setting's engine had loaded and decoded one file. */
  readonly rssBeforeMiB: number;
  readonly rssWithEngineMiB: number;
  /** 1-minute load average when decoding started and when it ended. */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

export type TuningReply =
  | { readonly ok: true; readonly run: TuningRun }
  | { readonly ok: false; readonly error: string };

const STREAM_OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;
const PIECE_SAMPLES = 1_600;
const MIB = 2 ** 20;

export async function measureSetting(request: TuningRequest): Promise<TuningRun> {
  const utterances = loadEvalSet();
  const pcm = new Map(utterances.map((u) => [u.id, loadPcm(u.path)]));
  // The shortest file, decoded once by each engine first and not counted: JIT and first-stream costs.
  const warmUp = utterances.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const rssBefore = process.memoryUsage.rss();
  const tuned = new PocketSphinxEngine({ workers: 1, decoderArgs: request.tuned });
  const reference = new PocketSphinxEngine({ workers: 1, decoderArgs: request.reference });
  try {
    const loadStarted = performance.now();
    await tuned.load();
    const loadMs = performance.now() - loadStarted;
    await decodeFile(tuned, warmUp, pcm);
    // resourceUsage().maxRSS is in KiB.
    const rssWithEngine = process.resourceUsage().maxRSS * 1024;
    await reference.load();
    await decodeFile(reference, warmUp, pcm);

    const loadAtStart = loadavg()[0] ?? 0;
    const tunedFiles: FileDecode[] = [];
    const referenceFiles: FileDecode[] = [];
    for (const [i, utterance] of utterances.entries()) {
      if (i % 2 === 0) {
        tunedFiles.push(await decodeFile(tuned, utterance, pcm));
        referenceFiles.push(await decodeFile(reference, utterance, pcm));
      } else {
        referenceFiles.push(await decodeFile(reference, utterance, pcm));
        tunedFiles.push(await decodeFile(tuned, utterance, pcm));
      }
    }
    return {
      request,
      audioSeconds: sum(utterances.map((u) => u.seconds)),
      setting: totals(utterances, tunedFiles),
      reference: totals(utterances, referenceFiles),
      loadMs,
      rssBeforeMiB: rssBefore / MIB,
      rssWithEngineMiB: rssWithEngine / MIB,
      loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
    };
  } finally {
    await Promise.all([tuned.close(), reference.close()]);
  }
}

function totals(utterances: readonly Utterance[], files: readonly FileDecode[]): EngineTotals {
  const byId = new Map(files.map((f) => [f.id, f.hypothesis]));
  return {
    wer: wer(utterances.map((u) => [u.text, byId.get(u.id) ?? ""])),
    cpuSeconds: sum(files.map((f) => f.cpuMs)) / 1000,
    wallSeconds: sum(files.map((f) => f.wallMs)) / 1000,
    processingSeconds: sum(files.map((f) => f.processingMs)) / 1000,
    files,
  };
}

async function decodeFile(
  engine: PocketSphinxEngine,
  utterance: Utterance,
  pcmById: ReadonlyMap<string, Int16Array>,
): Promise<FileDecode> {
  const pcm = pcmById.get(utterance.id) ?? new Int16Array(0);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const stream = await engine.openStream(STREAM_OPTIONS);
  const finals: string[] = [];
  let processingMs = 0;
  const reading = (async () => {
    for await (const event of stream) {
      if (event.type === "final" && event.text !== "") finals.push(event.text);
      else if (event.type === "usage") processingMs = event.processingMs;
      else if (event.type === "error") throw event.error;
    }
  })();
  for (let offset = 0; offset < pcm.length; offset += PIECE_SAMPLES) {
    stream.push(pcm.subarray(offset, offset + PIECE_SAMPLES));
  }
  await stream.end();
  await reading;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    id: utterance.id,
    hypothesis: finals.join(" "),
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: performance.now() - started,
    processingMs,
  };
}

// Started by tuning-bench.ts with an IPC channel: one request in, one reply out, then exit.
if (process.send) {
  process.once("message", (request: TuningRequest) => {
    const reply = (message: TuningReply) => process.send?.(message, () => process.disconnect());
    measureSetting(request).then(
      (run) => reply({ ok: true, run }),
      (error: unknown) => reply({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
}
