/**
 * What `npm run bench:load -- --mode burst|callcentre` saves: one JSON file per run, labelled
 * (`--label before|after`) and naming the server checkout it drove, so runs of two builds can be
 * rendered side by side (`--compare`).
 */
import type { Machine } from "../machine.js";
import type { BurstResult } from "./burst.js";
import { stepFailure } from "./load-results.js";
import type { StepResult } from "./load-step.js";

export type ScenarioMode = "burst" | "callcentre";

export interface ScenarioRun {
  readonly mode: ScenarioMode;
  /** `--label`: which build this is in a comparison, e.g. before or after. */
  readonly label: string;
  readonly engine: string;
  readonly machine: Machine;
  /** The checkout whose `earshot serve` ran (`--server-dir`), and its commit. */
  readonly server: { readonly repo: string; readonly code: string };
  readonly loadAtEnd: readonly number[];
  readonly minutes: number;
  readonly options: {
    readonly streams: readonly number[];
    readonly seed: number;
    readonly frameMs: number;
    readonly serveArgs: readonly string[];
    /** Call-centre: measured window and warm-up per N. */
    readonly seconds?: number;
    readonly warmupSeconds?: number;
    /** Burst: burst + steady-state pairs per N. */
    readonly runs?: number;
  };
  /** Burst mode: per run, the burst and the steady state at the same N with the same files. */
  readonly bursts?: readonly { readonly burst: BurstResult; readonly steady: BurstResult }[];
  /** Call-centre mode: one step per N. */
  readonly callCentre?: { readonly steps: readonly StepResult[]; readonly capacity: number };
}

/** A call-centre step passes with nothing refused or failed and p95 final latency under 500 ms. */
export function callCentreFailure(step: StepResult): string | undefined {
  return stepFailure("pocketsphinx", step);
}

/** The largest N that passed, every smaller N measured passing too; 0 when none did. */
export function callCentreCapacity(steps: readonly StepResult[]): number {
  let capacity = 0;
  for (const step of [...steps].sort((a, b) => a.streams - b.streams)) {
    if (callCentreFailure(step) !== undefined) break;
    capacity = step.streams;
  }
  return capacity;
}
