/**
 * The reference measurement: `pocketsphinx_continuous` on every file (WER and speed), plus its model
 * load alone (the same command on a 0.1 s file) so decode-only speed can be told apart.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeWav } from "@earshot/audio";
import type { Utterance } from "@earshot/test-support";
import { type WerResult, wer } from "@earshot/test-support";
import { runBaseline } from "./baseline.js";
import { median, sum } from "./stats.js";

export interface BaselineBench {
  readonly wer: WerResult;
  readonly hypotheses: ReadonlyMap<string, string>;
  /** Wall seconds of all runs, model load included. */
  readonly wallSeconds: number;
  /** Median wall seconds of a run on 0.1 s of audio: process start and model load. */
  readonly loadSeconds: number;
  readonly audioSeconds: number;
}

const LOAD_PROBE_RUNS = 3;

export function benchBaseline(utterances: readonly Utterance[]): BaselineBench {
  const results = runBaseline(utterances);
  const hypotheses = new Map(results.map((r) => [r.id, r.hypothesis]));
  return {
    wer: wer(utterances.map((u) => [u.text, hypotheses.get(u.id) ?? ""])),
    hypotheses,
    wallSeconds: sum(results.map((r) => r.seconds)),
    loadSeconds: measureLoadSeconds(),
    audioSeconds: sum(utterances.map((u) => u.seconds)),
  };
}

/** Decode-only real-time factor: wall time minus one model load per file, over audio time. */
export function decodeOnlyRtf(bench: BaselineBench, files: number): number {
  return (bench.wallSeconds - files * bench.loadSeconds) / bench.audioSeconds;
}

function measureLoadSeconds(): number {
  const dir = mkdtempSync(join(tmpdir(), "earshot-bench-"));
  try {
    const path = join(dir, "silence-100ms.wav");
    writeFileSync(path, writeWav(16_000, [new Int16Array(1_600)]));
    const probe: Utterance = { id: "load-probe", path, seconds: 0.1, text: "" };
    const runs = Array.from({ length: LOAD_PROBE_RUNS }, () => runBaseline([probe])[0]?.seconds ?? Number.NaN);
    return median(runs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
