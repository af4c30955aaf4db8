/**
 * The engine alone, no network: each file pushed into a `PocketSphinxEngine` stream as fast as
 * possible in 100 ms pieces, to measure accuracy and decoding speed without pacing or transport.
 */

import { PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import type { Engine, StreamOptions } from "@earshot/engines";
import { loadPcm, type Utterance, type WerResult, wer } from "@earshot/test-support";
import { sum } from "./stats.js";

export interface EngineFileResult {
  readonly id: string;
  readonly hypothesis: string;
  /** From the first push to the end of the event stream. */
  readonly wallMs: number;
  /** The engine's own `usage` report. */
  readonly audioMs: number;
  readonly processingMs: number;
}

export interface EngineBench {
  readonly wer: WerResult;
  readonly files: readonly EngineFileResult[];
  readonly audioSeconds: number;
  /** Sum of wall time over audio duration. */
  readonly wallRtf: number;
  /** Sum of usage.processingMs over sum of usage.audioMs. */
  readonly usageRtf: number;
}

const STREAM_OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;
const PIECE_SAMPLES = 1_600;

export async function benchEngine(utterances: readonly Utterance[]): Promise<EngineBench> {
  const engine = new PocketSphinxEngine({ workers: 1 });
  await engine.load();
  try {
    // The first stream of a worker pays for creating its decoder and warming the JIT: not counted.
    const warmUp = utterances[0];
    if (warmUp) await decodeFile(engine, warmUp);
    const files: EngineFileResult[] = [];
    for (const utterance of utterances) files.push(await decodeFile(engine, utterance));
    const byId = new Map(files.map((f) => [f.id, f.hypothesis]));
    const audioSeconds = sum(utterances.map((u) => u.seconds));
    return {
      wer: wer(utterances.map((u) => [u.text, byId.get(u.id) ?? ""])),
      files,
      audioSeconds,
      wallRtf: sum(files.map((f) => f.wallMs)) / 1000 / audioSeconds,
      usageRtf: sum(files.map((f) => f.processingMs)) / sum(files.map((f) => f.audioMs)),
    };
  } finally {
    await engine.close();
  }
}

async function decodeFile(engine: PocketSphinxEngine, utterance: Utterance): Promise<EngineFileResult> {
  const decoded = await decodePcm(engine, STREAM_OPTIONS, loadPcm(utterance.path));
  return { id: utterance.id, hypothesis: decoded.finals.join(" "), ...decoded };
}

/** One stream of `pcm` pushed as fast as the engine takes it, in 100 ms pieces: its finals and timings. */
export async function decodePcm(
  engine: Engine,
  options: StreamOptions,
  pcm: Int16Array,
): Promise<{ finals: string[]; wallMs: number; audioMs: number; processingMs: number }> {
  const stream = await engine.openStream(options);
  const finals: string[] = [];
  let audioMs = 0;
  let processingMs = 0;
  const started = performance.now();
  const reading = (async () => {
    for await (const event of stream) {
      if (event.type === "final" && event.text !== "") finals.push(event.text);
      else if (event.type === "usage") ({ audioMs, processingMs } = event);
      else if (event.type === "error") throw event.error;
    }
  })();
  for (let offset = 0; offset < pcm.length; offset += PIECE_SAMPLES) {
    stream.push(pcm.subarray(offset, offset + PIECE_SAMPLES));
  }
  await stream.end();
  await reading;
  return { finals, wallMs: performance.now() - started, audioMs, processingMs };
}
