/**
 * The reference: Debian's `pocketsphinx_continuous` with its default en-us model, run on each eval
 * file (decoding the whole file, the way the seed's baseline was measured).
 */
import { execFileSync } from "node:child_process";
import type { Utterance } from "@earshot/test-support";

export interface BaselineResult {
  readonly id: string;
  readonly hypothesis: string;
  /** Wall-clock seconds for the process, model load included. */
  readonly seconds: number;
}

export function pocketsphinxContinuousAvailable(): boolean {
  try {
    execFileSync("pocketsphinx_continuous", ["-h"], { stdio: "ignore" });
    return true;
  } catch (error) {
    // `-h` exits non-zero but proves the binary runs; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

export function runBaseline(utterances: readonly Utterance[]): BaselineResult[] {
  return utterances.map((utterance) => {
    const started = process.hrtime.bigint();
    const output = execFileSync("pocketsphinx_continuous", ["-infile", utterance.path, "-logfn", "/dev/null"], {
      encoding: "utf8",
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const hypothesis = output
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .join(" ");
    return { id: utterance.id, hypothesis, seconds };
  });
}
