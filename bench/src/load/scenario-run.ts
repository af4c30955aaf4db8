/**
 * `npm run bench:load -- --mode burst|callcentre`: the burst and call-centre scenarios, against this
 * checkout's server or another one's (`--server-dir`), saved as one labelled JSON file per run;
 * `--compare <json>…` renders saved runs side by side into docs/benchmarks.md.
 */
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { mulberry32 } from "@earshot/test-support";
import { describeCheckout, describeMachine } from "../machine.js";
import { type BurstResult, runBurst } from "./burst.js";
import { BENCHMARKS_MD, replaceSection } from "./doc-section.js";
import { loadJson, saveJson } from "./load-results.js";
import { runStep, type StepResult } from "./load-step.js";
import { type Clip, callCentrePlaylist } from "./playlist.js";
import { burstTable, callCentreTable, perAdmitted, renderScenarioSection, SECTION_NAME } from "./scenario-report.js";
import { callCentreCapacity, callCentreFailure, type ScenarioMode, type ScenarioRun } from "./scenario-results.js";
import { OWN_REPO } from "./server-process.js";

export const RESULTS_DIR = new URL("../../results/", import.meta.url).pathname;

export interface ScenarioOptions {
  readonly mode: ScenarioMode;
  readonly label: string;
  readonly engine: string;
  readonly streams: readonly number[];
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly runs: number;
  readonly seed: number;
  readonly frameMs: number;
  readonly serveArgs: readonly string[];
  /** Repository root whose `packages/cli` build serves; default this checkout. */
  readonly serverDir: string | undefined;
  /** Stop at the first failing N (call-centre), as the Load steps do, unless set. */
  readonly all: boolean;
  readonly out: string | undefined;
  /** Also write the section (this run alone) into this markdown file. */
  readonly doc: string | undefined;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const ms = (v: number) => (v === Number.POSITIVE_INFINITY ? "lost" : `${Math.round(v)}`);

export async function runScenario(options: ScenarioOptions, clips: readonly Clip[]): Promise<ScenarioRun> {
  const started = performance.now();
  const serverRepo = resolve(options.serverDir ?? OWN_REPO);
  if (!existsSync(join(serverRepo, "packages/cli/dist/main.js")))
    throw new Error(`--server-dir ${serverRepo}: no packages/cli/dist/main.js (build that checkout first)`);
  const machine = describeMachine(`npm run bench:load -- ${process.argv.slice(2).join(" ")}`.trim());
  const server = { repo: serverRepo, code: describeCheckout(serverRepo) };
  log(`bench:load ${options.mode} (${options.label}): server ${server.code} in ${serverRepo}`);
  const common = {
    mode: options.mode,
    label: options.label,
    engine: options.engine,
    machine,
    server,
    options: {
      streams: options.streams,
      seed: options.seed,
      frameMs: options.frameMs,
      serveArgs: options.serveArgs,
    },
  };
  let run: ScenarioRun;
  if (options.mode === "burst") {
    const bursts = await runBursts(options, clips, serverRepo);
    run = {
      ...common,
      options: { ...common.options, runs: options.runs },
      bursts,
      loadAtEnd: loadavg(),
      minutes: (performance.now() - started) / 60_000,
    };
    log(burstTable([run]));
  } else {
    const steps = await runCallCentre(options, clips, serverRepo);
    run = {
      ...common,
      options: { ...common.options, seconds: options.seconds, warmupSeconds: options.warmupSeconds },
      callCentre: { steps, capacity: callCentreCapacity(steps) },
      loadAtEnd: loadavg(),
      minutes: (performance.now() - started) / 60_000,
    };
    log(callCentreTable([run]));
  }
  const out = options.out ?? `${RESULTS_DIR}${options.mode}-${options.label}.json`;
  saveJson(out, run);
  log(`wrote ${out}`);
  if (options.doc !== undefined && options.doc !== "none") {
    replaceSection(options.doc, SECTION_NAME, renderScenarioSection([run]));
    log(`wrote the bursts section of ${options.doc}`);
  }
  return run;
}

/** Per N and run: a burst, then the steady state with the same files, each on a fresh server. */
async function runBursts(options: ScenarioOptions, clips: readonly Clip[], serverRepo: string) {
  const pairs: { burst: BurstResult; steady: BurstResult }[] = [];
  for (const streams of options.streams) {
    for (let run = 0; run < options.runs; run++) {
      const seed = options.seed + run;
      const measure = async (mode: "burst" | "steady") => {
        const result = await runBurst({
          mode,
          engine: options.engine,
          streams,
          seed,
          clips,
          serveArgs: options.serveArgs,
          serverRepo,
          frameMs: options.frameMs,
        });
        log(
          `N=${streams} run ${run + 1} ${mode}: first partial ${ms(result.firstPartialMs.p50)}/${ms(result.firstPartialMs.p95)} ms, ` +
            `final ${ms(result.finalMs.p50)}/${ms(result.finalMs.p95)} ms (${result.missingFinals} without final), ` +
            `connect p95 ${ms(result.sessionStartMs.p95)} ms, decoders on connect ${result.decodersOnConnect ?? "n/a"}, ` +
            `RSS/stream ${result.rssPerStreamMb.toFixed(1)} MB, CPU/stream ${result.cpuPercentPerStream.toFixed(1)}%, ` +
            `${result.processes} processes; refused ${result.refused}, failed ${result.failed}` +
            (result.failures.length > 0 ? ` (${result.failures.slice(0, 3).join("; ")})` : "") +
            (result.serverExited ? `; server ${result.serverExited}` : ""),
        );
        return result;
      };
      pairs.push({ burst: await measure("burst"), steady: await measure("steady") });
    }
  }
  return pairs;
}

async function runCallCentre(options: ScenarioOptions, clips: readonly Clip[], serverRepo: string) {
  const steps: StepResult[] = [];
  for (const streams of [...options.streams].sort((a, b) => a - b)) {
    const step = await runStep({
      engine: options.engine,
      serveArgs: options.serveArgs,
      streams,
      warmupSeconds: options.warmupSeconds,
      seconds: options.seconds,
      seed: options.seed,
      clips,
      frameMs: options.frameMs,
      serverRepo,
      playlistFor: (k) => callCentrePlaylist(clips, mulberry32(options.seed * 100_003 + k)),
    });
    const failure = callCentreFailure(step);
    log(
      `N=${streams}: admitted ${streams - step.refused}, refused ${step.refused}, failed ${step.failed}; ` +
        `final ${ms(step.finalMs.p50)}/${ms(step.finalMs.p95)} ms over ${step.utterances} files; ` +
        `RSS/stream ${perAdmitted(step).rssMb.toFixed(1)} MB, CPU/stream ${perAdmitted(step).cpuPercent.toFixed(1)}% ` +
        `(${step.serverTree.processesAtEnd} processes); talk ratio ${(step.talkRatio * 100).toFixed(1)}% → ${failure ?? "pass"}`,
    );
    for (const line of step.failures.slice(0, 3)) log(`    ${line}`);
    steps.push(step);
    if (failure !== undefined && !options.all) break;
  }
  return steps;
}

/** Renders saved runs side by side (in the order given) into `doc`, or prints the section with `none`. */
export function compare(files: readonly string[], doc: string | undefined): void {
  if (files.length === 0) throw new Error("--compare needs the JSON files of the runs, e.g. before.json after.json");
  const runs = files.map((file) => {
    const run = loadJson<ScenarioRun>(file);
    if (!run?.mode) throw new Error(`${file}: not a --mode burst|callcentre result`);
    return run;
  });
  const section = renderScenarioSection(runs);
  if (doc === "none") {
    log(section);
    return;
  }
  const path = doc ?? BENCHMARKS_MD;
  replaceSection(path, SECTION_NAME, section);
  log(`wrote the "Bursts and the call-centre playlist" section of ${path}`);
}
