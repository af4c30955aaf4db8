/**
 * `npm run bench:tune`: PocketSphinx decoder flags (beams, `-ds`, `-topn`, histogram pruning, phonetic
 * lookahead, fwdflat / bestpath, `-lw`) measured on the English eval set for the WER and the CPU time
 * each costs: one flag at a time from a fixed baseline (the library's defaults), then combinations of
 * the flags that paid off, then the baseline and the recommended setting twice more for the noise.
 * Each setting runs in a process of its own, decoding alternately with the baseline on one pinned
 * CPU (tuning-run.ts); tuning-report.ts picks the settings and writes the results.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { FAST_DECODER_ARGS } from "@earshot/engine-pocketsphinx";
import { fixed, percent } from "./format.js";
import { describeMachine, type Machine } from "./machine.js";
import {
  choose,
  combinations,
  label,
  type Measured,
  type Outcome,
  type Phase,
  referenceRtf,
  rtf,
  type Setting,
  speedup,
  usageRtf,
  writeResults,
  writeSection,
} from "./tuning-report.js";
import type { DecoderArgs, TuningReply, TuningRequest } from "./tuning-run.js";

const RUNNER = new URL("./tuning-run.js", import.meta.url);
/**
 * A measurement process that used no CPU for this long is hung and is killed. Judged by its CPU time
 * rather than the clock: on this shared machine a run may be paused (SIGSTOP) for minutes and resumed.
 */
const HUNG_AFTER_MS = 2 * 60_000;
/**
 * Every measurement process runs on this one CPU. Unpinned, the two engines' worker threads tended to
 * stay on different vCPUs, and the vCPUs of this VM do not run at the same speed (another VM's load
 * lands on one more than the other): one flag measured 2× slower in one run and 10% faster in the
 * next. Pinned, both engines share whatever the CPU gives, and the ratio repeats.
 */
const PINNED_CPU = availableParallelism() - 1;
/**
 * Every reply as it arrives, so that `npm run bench:tune -- --resume` goes on after an interrupted
 * run instead of starting over (each row is paired with its own baseline, so rows measured at
 * different times compare the same way), or renders the report again without measuring.
 */
const PROGRESS = new URL("../../.bench-cache/tuning-progress.json", import.meta.url);
/** Extra runs of the baseline and of the recommended setting, for the noise. */
const REPEATS = 2;

/**
 * What every setting changes one or more flags of, given explicitly so that the table keeps its
 * meaning when the engine's own defaults move: the library's defaults for the flags swept, and
 * `-fwdflat no` (the engine's choice since it was measured to cost latency, not WER).
 */
const BASELINE: DecoderArgs = {
  beam: "1e-48",
  pbeam: "1e-48",
  wbeam: "7e-29",
  ds: 1,
  topn: 4,
  maxhmmpf: 30_000,
  maxwpf: -1,
  pl_window: 5,
  pl_beam: "1e-10",
  pl_pbeam: "1e-10",
  fwdflat: false,
  bestpath: true,
  lw: 6.5,
};

const values = (factor: string, ...list: (string | number | boolean)[]): Setting[] =>
  list.map((value) => ({ factor, args: { [factor]: value } }));

const BASELINE_SETTING: Setting = { factor: "baseline", args: {} };
const SWEEP: readonly Setting[] = [
  BASELINE_SETTING,
  { factor: "serve", args: FAST_DECODER_ARGS },
  ...values("beam", "1e-40", "1e-35", "1e-30"),
  ...values("pbeam", "1e-40", "1e-35", "1e-30"),
  ...values("wbeam", "1e-20", "1e-15"),
  ...values("ds", 2),
  ...values("topn", 3, 2, 1),
  ...values("maxhmmpf", 10_000, 3_000, 2_000),
  ...values("maxwpf", 20, 10),
  ...values("pl_window", 0, 10),
  ...values("fwdflat", true),
  ...values("bestpath", false),
  ...values("lw", 5.5, 8),
];

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function measure(setting: Setting): Promise<TuningReply> {
  const request: TuningRequest = {
    tuned: { ...BASELINE, ...setting.args },
    reference: BASELINE,
  };
  return new Promise((resolve) => {
    // taskset execs node in place, so the child keeps the IPC channel spawn set up.
    const child = spawn("taskset", ["--cpu-list", String(PINNED_CPU), process.execPath, RUNNER.pathname], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    let reply: TuningReply | undefined;
    let lastCpuTicks = -1;
    let idleChecks = 0;
    const watchdog = setInterval(() => {
      const ticks = cpuTicks(child.pid);
      idleChecks = ticks === lastCpuTicks ? idleChecks + 1 : 0;
      lastCpuTicks = ticks;
      // Two idle checks in a row: one may be the check that was overdue while everything was paused.
      if (idleChecks >= 2) child.kill("SIGKILL");
    }, HUNG_AFTER_MS / 2);
    child.once("message", (message: TuningReply) => {
      reply = message;
    });
    child.once("error", (error) => {
      reply ??= { ok: false, error: `could not run the measurement: ${error.message}` };
    });
    child.once("exit", (code, signal) => {
      clearInterval(watchdog);
      resolve(
        reply ?? { ok: false, error: `measurement process ended (${signal ?? `exit code ${code}`}) without a result` },
      );
    });
    child.send(request);
  });
}

/**
 * What `--resume` takes over: the first invocation's machine description, the minutes spent and the
 * load average after the last measurement so far, and the replies.
 */
interface Progress {
  readonly machine: Machine;
  readonly minutes: number;
  readonly loadAtEnd: readonly number[];
  readonly replies: Readonly<Record<string, TuningReply>>;
}

function loadProgress(): Progress | undefined {
  try {
    return JSON.parse(readFileSync(PROGRESS, "utf8")) as Progress;
  } catch {
    return undefined;
  }
}

/** user + system clock ticks of a process, from /proc (Linux, as taskset is); -1 if it is gone. */
function cpuTicks(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) in parentheses; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return -1;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const saved = process.argv.includes("--resume") ? loadProgress() : undefined;
  const machine = saved?.machine ?? describeMachine("npm run bench:tune");
  const elapsedMinutes = () => (saved?.minutes ?? 0) + (performance.now() - started) / 60_000;
  const measured: Measured[] = [];
  const replies: Record<string, TuningReply> = {};
  let resumed = 0;
  let loadAtEnd = saved?.loadAtEnd ?? loadavg();
  const step = async (phase: Phase, setting: Setting): Promise<void> => {
    let key = `${phase} ${label(setting)}`;
    for (let n = 2; key in replies; n++) key = `${phase} ${label(setting)} #${n}`;
    const earlier = saved?.replies[key];
    const reply = earlier?.ok ? earlier : await measure(setting);
    if (earlier?.ok) resumed++;
    else loadAtEnd = loadavg();
    replies[key] = reply;
    mkdirSync(new URL(".", PROGRESS), { recursive: true });
    writeFileSync(
      PROGRESS,
      JSON.stringify({ machine, minutes: elapsedMinutes(), loadAtEnd, replies } satisfies Progress),
    );
    const entry: Measured = reply.ok
      ? { phase, setting, run: reply.run, error: undefined }
      : { phase, setting, run: undefined, error: reply.error };
    measured.push(entry);
    const at = `[${measured.length}, ${elapsedMinutes().toFixed(1)} min${earlier?.ok ? ", resumed" : ""}]`;
    const r = entry.run;
    log(
      r
        ? `${at} ${phase} ${label(setting)}: WER ${percent(r.setting.wer.wer)} (${r.setting.wer.errors}/${r.setting.wer.words}), ` +
            `RTF ${fixed(rtf(r), 3)} CPU against ${fixed(referenceRtf(r), 3)} for the baseline (${fixed(speedup(r))}x), ` +
            `${fixed(usageRtf(r), 3)} usage, RSS ${Math.round(r.rssWithEngineMiB)} MiB`
        : `${at} ${phase} ${label(setting)}: FAILED: ${entry.error}`,
    );
  };

  log(`bench:tune: ${SWEEP.length} settings, then combinations and repeats; load ${machine.loadAtStart[0]}`);
  for (const setting of SWEEP) await step("sweep", setting);
  const first = measured[0];
  const base = first?.run;
  if (!first || !base) throw new Error(`the baseline failed: ${first?.error}`);
  for (const setting of combinations(measured, base)) await step("combination", setting);
  const choice = choose(measured, base);
  for (let i = 0; i < REPEATS; i++) {
    await step("repeat", BASELINE_SETTING);
    if (choice.recommended !== first) await step("repeat", choice.recommended.setting);
  }

  const minutes = elapsedMinutes();
  const outcome: Outcome = {
    machine,
    loadAtEnd,
    minutes,
    measured,
    choice,
    first,
    base,
    baseline: BASELINE,
    repeats: REPEATS,
    cpu: PINNED_CPU,
    resumed,
  };
  writeResults(outcome);
  writeSection(outcome);
  const rec = choice.recommended.run;
  if (rec) {
    log(
      `recommended ${label(choice.recommended.setting)}: WER ${percent(rec.setting.wer.wer)} against ${percent(base.reference.wer.wer)}, ` +
        `${fixed(speedup(rec))}x faster (CPU) than the baseline`,
    );
  }
  log(`wrote bench/results/tuning.json and the tuning section of docs/benchmarks.md in ${minutes.toFixed(1)} min`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:tune failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
