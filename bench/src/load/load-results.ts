/**
 * What `npm run bench:load` saves per engine (docs/results/load-<engine>.json) and how a step passes.
 * The docs section and the plot are rendered from these files, so either engine can be re-run alone.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Machine } from "../machine.js";
import type { EngineLimit } from "./engine-limit.js";
import type { StepResult } from "./load-step.js";

export const RESULTS_DIR = new URL("../../../docs/results/", import.meta.url).pathname;
export const resultsPath = (engine: string) => `${RESULTS_DIR}load-${engine}.json`;

/** p95 final latency under this (ms) passes a step: the capacity definition. */
export const FINAL_P95_LIMIT_MS = 500;
/** With the test engine, p95 added latency must stay under this (ms) instead. */
export const ADDED_P95_LIMIT_MS = 20;

export interface LoadRun {
  readonly engine: string;
  readonly machine: Machine;
  readonly loadAtEnd: readonly number[];
  readonly minutes: number;
  readonly options: {
    readonly streams: readonly number[];
    readonly seconds: number;
    readonly warmupSeconds: number;
    readonly seed: number;
    /** Audio per message, ms (absent in results saved before it was an option: 100). */
    readonly frameMs?: number;
    /** Further `earshot serve` flags of the run. */
    readonly serveArgs?: readonly string[];
  };
  /** PocketSphinx only: the decoder alone, measured in the same run before the steps. */
  readonly engineLimit: EngineLimit | undefined;
  readonly steps: readonly StepResult[];
  /** The largest N that passed, with every smaller N measured also passing; 0 when none did. */
  readonly capacity: number;
  /** The step run at half the capacity (for the latency targets), when there was one. */
  readonly halfCapacityStreams: number | undefined;
}

/** Why a step fails, or undefined when it passes. */
export function stepFailure(engine: string, step: StepResult): string | undefined {
  if (step.server.exited) return `server ${step.server.exited}`;
  if (step.refused > 0) return `${step.refused} streams refused`;
  if (step.failed > 0) return `${step.failed} streams failed`;
  if (step.utterances === 0) return "no utterance measured";
  // The test engine's own endpointing (300 ms, by a different energy rule than speechBounds) dominates its
  // final latency: what it measures is the server's added latency.
  if (engine === "test")
    return step.addedMs.p95 < ADDED_P95_LIMIT_MS ? undefined : `added p95 ≥ ${ADDED_P95_LIMIT_MS} ms`;
  if (!(step.finalMs.p95 < FINAL_P95_LIMIT_MS)) return `final p95 ≥ ${FINAL_P95_LIMIT_MS} ms`;
  return undefined;
}

export function capacityOf(engine: string, steps: readonly StepResult[]): number {
  let capacity = 0;
  for (const step of [...steps].sort((a, b) => a.streams - b.streams)) {
    if (stepFailure(engine, step) !== undefined) break;
    capacity = step.streams;
  }
  return capacity;
}

export function saveJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, jsonNumbers, 2)}\n`);
}

/** A results file written by `saveJson`, or undefined when there is none. */
export function loadJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8"), (_, value) =>
    value === "Infinity" ? Number.POSITIVE_INFINITY : value,
  );
}

/** JSON has no Infinity (a lost final) or NaN: keep the first as a string, the second as null. */
function jsonNumbers(_: string, value: unknown): unknown {
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (typeof value === "number" && Number.isNaN(value)) return null;
  return value;
}
