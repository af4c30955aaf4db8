/**
 * `npm run bench:load`: N concurrent real-time streams of the eval audio against a real
 * `earshot serve` process, N stepping up until a step fails; capacity = the largest passing N.
 * With PocketSphinx it first measures the decoder alone (the engine's own limit) and finally runs
 * a step at half the capacity for the latency targets. Saves docs/results/load-<engine>.json, then
 * renders the "Load" section of docs/benchmarks.md and docs/load-latency.svg from both engines' files.
 *
 *   node bench/dist/load/run.js --engine pocketsphinx|test [--streams 1,2,4] [--seconds 60|30] [--warmup 5]
 *     [--seed 1] [--frame-ms 100] [--all] [--out FILE] [--doc FILE|none] [--plot FILE] [--price-per-hour P --price-label L]
 *   node bench/dist/load/run.js --render-only   (re-render the docs from the saved results)
 *
 * Bursts and the call-centre playlist (scenario-run.ts), against this build or another checkout's:
 *   node bench/dist/load/run.js --mode burst [--streams 8] [--runs 3] [--label after] [--server-dir DIR] [--out FILE]
 *   node bench/dist/load/run.js --mode callcentre [--streams 4,8,12,16] [--seconds 60] [--label after] [--server-dir DIR]
 *   node bench/dist/load/run.js --compare before.json after.json [--doc FILE|none]
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { describeMachine } from "../machine.js";
import { BENCHMARKS_MD, replaceSection } from "./doc-section.js";
import { type EngineLimit, measureEngineLimit } from "./engine-limit.js";
import { PLOT_PATH, renderPlot } from "./load-plot.js";
import { DEFAULT_PRICE, renderLoadSection } from "./load-report.js";
import { capacityOf, type LoadRun, loadJson, resultsPath, saveJson, stepFailure } from "./load-results.js";
import { runStep, type StepResult } from "./load-step.js";
import { FRAME_SIZES_MS } from "./load-stream.js";
import { loadClips } from "./playlist.js";
import { compare, runScenario } from "./scenario-run.js";

const DEFAULT_STEPS: Record<string, string> = {
  pocketsphinx: "1,2,3,4,5,6,7,8,10,12,14,16",
  test: "100,250,500,1000,1500,2000",
};
/** The test engine's default endpointing (packages/engines/src/testing/test-engine.ts). */
const TEST_ENDPOINTING_MS = 300;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: "string", default: "pocketsphinx" },
    /** steps (the default: N stepping up), burst or callcentre. */
    mode: { type: "string", default: "steps" },
    /** Burst: burst + steady-state pairs per N. */
    runs: { type: "string", default: "1" },
    /** Burst and call-centre: the name of this build in a side-by-side comparison. */
    label: { type: "string", default: "after" },
    /** Burst and call-centre: the repository root whose packages/cli build serves (default this one). */
    "server-dir": { type: "string" },
    /** Render the saved burst and call-centre results named as arguments side by side. */
    compare: { type: "boolean", default: false },
    /** A further `earshot serve` flag for the server under test; repeatable, e.g. --serve-arg=--vad=off. */
    "serve-arg": { type: "string", multiple: true },
    /** A node flag for the server process, repeatable, e.g. --server-node-arg=--cpu-prof. */
    "server-node-arg": { type: "string", multiple: true },
    streams: { type: "string" },
    seconds: { type: "string" },
    warmup: { type: "string", default: "5" },
    seed: { type: "string", default: "1" },
    /** Audio per message: 10, 20, 25, 50 or 100 ms. */
    "frame-ms": { type: "string", default: "100" },
    all: { type: "boolean", default: false },
    "render-only": { type: "boolean", default: false },
    out: { type: "string" },
    /** Default docs/benchmarks.md; the burst and call-centre runs write it only when given. */
    doc: { type: "string" },
    plot: { type: "string", default: PLOT_PATH },
    "price-per-hour": { type: "string", default: String(DEFAULT_PRICE.perHour) },
    "price-label": { type: "string", default: DEFAULT_PRICE.label },
  },
});

const engine = values.engine ?? "pocketsphinx";
const mode = values.mode ?? "steps";
if (!["steps", "burst", "callcentre"].includes(mode))
  throw new Error(`--mode must be steps, burst or callcentre, not ${mode}`);
if (positionals.length > 0 && !values.compare) throw new Error(`unexpected arguments: ${positionals.join(" ")}`);
const scenarioSteps: Record<string, string> = { burst: "8", callcentre: "4,8,12,16" };
const streamSteps = (values.streams ?? scenarioSteps[mode] ?? DEFAULT_STEPS[engine] ?? "1").split(",").map(Number);
/** PocketSphinx steps have few streams, so they need a longer window for enough files. */
const seconds = Number(values.seconds ?? (engine === "test" ? 30 : 60));
const warmupSeconds = Number(values.warmup);
const seed = Number(values.seed);
const frameMs = Number(values["frame-ms"]);
if (!(FRAME_SIZES_MS as readonly number[]).includes(frameMs))
  throw new Error(`--frame-ms must be one of ${FRAME_SIZES_MS.join(", ")}`);
if (!["pocketsphinx", "test"].includes(engine)) throw new Error(`--engine must be pocketsphinx or test, not ${engine}`);
if (streamSteps.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("--streams: positive integers, e.g. 1,2,4");
if (!(seconds > 0) || !(warmupSeconds >= 0) || !Number.isInteger(seed))
  throw new Error("bad --seconds/--warmup/--seed");

const log = (line: string) => process.stdout.write(`${line}\n`);
const ms = (v: number) => (v === Number.POSITIVE_INFINITY ? "lost" : `${Math.round(v)}`);

function describeStep(step: StepResult): string {
  const added =
    engine === "test"
      ? ` added ${step.addedMs.p50.toFixed(1)}/${step.addedMs.p95.toFixed(1)}/${step.addedMs.p99.toFixed(1)} ms (${step.finalsBeforeDue} early),`
      : "";
  return (
    `N=${step.streams}: final ${ms(step.finalMs.p50)}/${ms(step.finalMs.p95)}/${ms(step.finalMs.p99)} ms, ` +
    `first partial ${ms(step.firstPartialMs.p50)}/${ms(step.firstPartialMs.p95)} ms,${added} ` +
    `WER ${(step.wer.wer * 100).toFixed(1)}% over ${step.utterances} files (${step.missingFinals} without final); ` +
    `server CPU ${step.server.cpuPercent.toFixed(0)}%, RSS ${step.server.rssEndMb.toFixed(0)} MB ` +
    `(${step.server.rssPerStreamMb.toFixed(2)} MB/stream); generator CPU ${step.generator.cpuPercent.toFixed(0)}%, ` +
    `send lag p99 ${step.generator.sendLagP99Ms.toFixed(1)} ms, loop delay p99 ${step.generator.loopDelayP99Ms.toFixed(1)} ms; ` +
    `machine ${step.machineBusyPercent.toFixed(0)}%; refused ${step.refused}, failed ${step.failed} → ${stepFailure(engine, step) ?? "pass"}`
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = describeMachine(`npm run bench:load -- ${process.argv.slice(2).join(" ")}`.trim());
  const clips = loadClips();
  log(
    `bench:load ${engine}: steps ${streamSteps.join(", ")}; ${seconds} s window; ${machine.logicalCores} cores, load ${machine.loadAtStart[0]?.toFixed(2)}`,
  );

  let engineLimit: EngineLimit | undefined;
  if (engine === "pocketsphinx") {
    engineLimit = await measureEngineLimit(clips);
    log(
      `decoder alone: CPU RTF ${engineLimit.cpuRtf.toFixed(3)} (wall ${engineLimit.wallRtf.toFixed(3)}) → limit ${engineLimit.streams.toFixed(1)} streams`,
    );
  }

  const steps: StepResult[] = [];
  const step = async (streams: number) => {
    const result = await runStep({
      engine,
      serveArgs: values["serve-arg"] ?? [],
      serverNodeArgs: values["server-node-arg"] ?? [],
      streams,
      warmupSeconds,
      seconds,
      seed,
      clips,
      endpointingMs: engine === "test" ? TEST_ENDPOINTING_MS : undefined,
      frameMs,
    });
    log(describeStep(result));
    for (const line of result.failures.slice(0, 3)) log(`    ${line}`);
    steps.push(result);
    return result;
  };
  for (const streams of [...streamSteps].sort((a, b) => a - b)) {
    const result = await step(streams);
    if (stepFailure(engine, result) !== undefined && !values.all) break;
  }
  const capacity = capacityOf(engine, steps);
  let halfCapacityStreams: number | undefined;
  if (engine === "pocketsphinx" && capacity >= 2) {
    halfCapacityStreams = Math.floor(capacity / 2);
    if (!steps.some((s) => s.streams === halfCapacityStreams)) await step(halfCapacityStreams);
  }

  const run: LoadRun = {
    engine,
    machine,
    loadAtEnd: loadavg(),
    minutes: (performance.now() - started) / 60_000,
    options: { streams: streamSteps, seconds, warmupSeconds, seed, frameMs, serveArgs: values["serve-arg"] ?? [] },
    engineLimit,
    steps: [...steps].sort((a, b) => a.streams - b.streams),
    capacity,
    halfCapacityStreams,
  };
  const out = values.out ?? resultsPath(engine);
  saveJson(out, run);
  log(
    `capacity ${capacity} streams${engineLimit ? ` (${((capacity / engineLimit.streams) * 100).toFixed(0)}% of the engine's limit)` : ""}; wrote ${out}`,
  );

  if (values.doc !== "none") render(run);
}

async function scenario(): Promise<void> {
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs: a positive integer");
  await runScenario(
    {
      mode: mode === "burst" ? "burst" : "callcentre",
      label: values.label ?? "after",
      engine,
      streams: streamSteps,
      seconds,
      warmupSeconds,
      runs,
      seed,
      frameMs,
      serveArgs: values["serve-arg"] ?? [],
      serverDir: values["server-dir"],
      all: values.all ?? false,
      out: values.out,
      doc: values.doc,
    },
    loadClips(),
  );
}

/** Renders the docs from this run and the other engine's saved results (or from both saved ones). */
function render(run?: LoadRun): void {
  const pick = (name: string) => (run?.engine === name ? run : loadJson<LoadRun>(resultsPath(name)));
  const pocketsphinx = pick("pocketsphinx");
  const test = pick("test");
  const price = { perHour: Number(values["price-per-hour"]), label: values["price-label"] ?? DEFAULT_PRICE.label };
  const doc = values.doc ?? BENCHMARKS_MD;
  replaceSection(doc, "load", renderLoadSection(pocketsphinx, test, price));
  writeFileSync(values.plot ?? PLOT_PATH, renderPlot(pocketsphinx, test));
  log(`wrote the Load section of ${doc} and ${values.plot}`);
}

function entry(): Promise<void> {
  if (values.compare) return Promise.resolve().then(() => compare(positionals, values.doc));
  if (values["render-only"]) return Promise.resolve().then(() => render());
  return mode === "steps" ? main() : scenario();
}

entry().catch((error: unknown) => {
  process.stderr.write(
    `bench:load failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
