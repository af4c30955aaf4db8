/**
 * What a `npm run bench:tune` sweep found: the metrics, the rules that pick the recommended and the
 * "fast" setting and the combinations worth trying, and the outputs: bench/results/tuning.json and the
 * "PocketSphinx tuning" section of docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fixed, percent, table } from "./format.js";
import { BENCHMARKS_MD, replaceSection } from "./load/doc-section.js";
import type { Machine } from "./machine.js";
import { median } from "./stats.js";
import type { DecoderArgs, TuningRun } from "./tuning-run.js";

const RESULTS = new URL("../results/tuning.json", import.meta.url);

/** The recommended setting may cost at most this many WER points against the baseline. */
const RECOMMENDED_MAX_COST_POINTS = 1;
/** The "fast" setting may cost at most this many, and must beat the recommended one by FAST_MIN_GAIN. */
const FAST_MAX_COST_POINTS = 3;
const FAST_MIN_GAIN = 1.2;
/** A flag joins the combinations only if it alone is at least this much faster than the baseline. */
const COMBINE_MIN_SPEEDUP = 1.05;
/** Not picked for speed: its second pass sits between the pause and every final (latency CPU time does not show). */
const NOT_PICKED = new Set(["fwdflat"]);
/** Rows that are reference points, not candidates. */
const REFERENCE_ROWS = new Set(["baseline", "serve"]);

export interface Setting {
  /** The flag changed, "baseline", "serve" (what `earshot serve` passes) or "combination". */
  readonly factor: string;
  /** Flags over the baseline. */
  readonly args: DecoderArgs;
}

export type Phase = "sweep" | "combination" | "repeat";

export interface Measured {
  readonly phase: Phase;
  readonly setting: Setting;
  readonly run: TuningRun | undefined;
  readonly error: string | undefined;
}

export function label(setting: Setting): string {
  return Object.keys(setting.args).length === 0 ? "(baseline)" : flags(setting.args);
}

export function flags(args: DecoderArgs): string {
  return Object.entries(args)
    .map(([name, value]) => `-${name} ${typeof value === "boolean" ? (value ? "yes" : "no") : value}`)
    .join(" ");
}

export const rtf = (run: TuningRun) => run.setting.cpuSeconds / run.audioSeconds;
export const referenceRtf = (run: TuningRun) => run.reference.cpuSeconds / run.audioSeconds;
export const usageRtf = (run: TuningRun) => run.setting.processingSeconds / run.audioSeconds;
/** CPU time of the baseline over that of the setting, decoding alternately in the same process. */
export const speedup = (run: TuningRun) => run.reference.cpuSeconds / run.setting.cpuSeconds;
/** The largest whole number of extra errors that stays within `points` WER points. */
const budget = (base: TuningRun, points: number) => Math.floor((base.reference.wer.words * points) / 100 + 1e-9);
const cost = (run: TuningRun, base: TuningRun) => run.setting.wer.errors - base.reference.wer.errors;

/**
 * For each flag, its fastest value that costs at most 1 WER point and is at least 5% faster; these
 * merged, fastest first: the best 2, the best 3 and all of them (each size once).
 */
export function combinations(sweep: readonly Measured[], base: TuningRun): Setting[] {
  const best = new Map<string, { setting: Setting; run: TuningRun }>();
  for (const { setting, run } of sweep) {
    if (!run || REFERENCE_ROWS.has(setting.factor) || NOT_PICKED.has(setting.factor)) continue;
    if (cost(run, base) > budget(base, RECOMMENDED_MAX_COST_POINTS) || speedup(run) < COMBINE_MIN_SPEEDUP) continue;
    const current = best.get(setting.factor);
    if (!current || speedup(run) > speedup(current.run)) best.set(setting.factor, { setting, run });
  }
  const ranked = [...best.values()].sort((a, b) => speedup(b.run) - speedup(a.run));
  const sizes = [...new Set([2, 3, ranked.length])].filter((n) => n >= 2 && n <= ranked.length);
  return sizes.map((n) => ({
    factor: "combination",
    args: Object.assign({}, ...ranked.slice(0, n).map((r) => r.setting.args)) as DecoderArgs,
  }));
}

export interface Choice {
  readonly recommended: Measured;
  readonly fast: Measured | undefined;
}

export function choose(measured: readonly Measured[], base: TuningRun): Choice {
  const fastest = (points: number) =>
    measured
      .filter(
        (m) =>
          m.phase !== "repeat" &&
          (m.setting.factor === "baseline" ||
            !(REFERENCE_ROWS.has(m.setting.factor) || NOT_PICKED.has(m.setting.factor))) &&
          m.run &&
          cost(m.run, base) <= budget(base, points),
      )
      .sort((a, b) => (b.run ? speedup(b.run) : 0) - (a.run ? speedup(a.run) : 0))[0];
  const recommended = fastest(RECOMMENDED_MAX_COST_POINTS);
  if (!recommended?.run) throw new Error("no setting measured within the WER budget (not even the baseline)");
  const fast = fastest(FAST_MAX_COST_POINTS);
  const notable = fast?.run && speedup(fast.run) >= FAST_MIN_GAIN * speedup(recommended.run);
  return { recommended, fast: notable ? fast : undefined };
}

/** A setting's first measurement and its repeats. */
function runsOf(measured: readonly Measured[], first: Measured): TuningRun[] {
  return measured
    .filter((m) => m === first || (m.phase === "repeat" && m.setting === first.setting))
    .flatMap((m) => (m.run ? [m.run] : []));
}

export interface Outcome {
  readonly machine: Machine;
  readonly loadAtEnd: readonly number[];
  readonly minutes: number;
  readonly measured: readonly Measured[];
  readonly choice: Choice;
  /** The baseline's own sweep row, and its run. */
  readonly first: Measured;
  readonly base: TuningRun;
  readonly baseline: DecoderArgs;
  /** Extra runs of the baseline and the recommended setting. */
  readonly repeats: number;
  /** The CPU every measurement process was pinned to. */
  readonly cpu: number;
  /** Rows taken over from an interrupted run (`--resume`). */
  readonly resumed: number;
}

export function writeResults({ machine, loadAtEnd, minutes, measured, choice, baseline, cpu, resumed }: Outcome): void {
  mkdirSync(new URL(".", RESULTS), { recursive: true });
  const loads = (list: readonly number[]) => ({ min1: list[0], min5: list[1], min15: list[2] });
  const entry = (m: Measured) => ({
    phase: m.phase,
    factor: m.setting.factor,
    flags: label(m.setting),
    ...(m.run
      ? { rtfCpu: rtf(m.run), rtfCpuBaseline: referenceRtf(m.run), speedup: speedup(m.run), ...m.run }
      : { args: m.setting.args, error: m.error }),
  });
  const results = {
    command: machine.command,
    machine: {
      ...machine,
      loadAtStart: loads(machine.loadAtStart),
      loadAtEnd: loads(loadAtEnd),
      minutes,
      pinnedCpu: cpu,
      resumedRows: resumed,
    },
    rules: {
      recommended: `the largest CPU speed-up with at most ${RECOMMENDED_MAX_COST_POINTS} WER point more than the baseline`,
      fast: `the largest with at most ${FAST_MAX_COST_POINTS} points more, if ${FAST_MIN_GAIN}x the recommended's speed-up`,
    },
    baseline: flags(baseline),
    recommended: label(choice.recommended.setting),
    fast: choice.fast ? label(choice.fast.setting) : null,
    runs: measured.map(entry),
  };
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
}

/** The "PocketSphinx tuning" section of docs/benchmarks.md, between its markers; the rest stays as it is. */
export function writeSection(outcome: Outcome): void {
  replaceSection(BENCHMARKS_MD, "pocketsphinx-tuning", render(outcome));
}

function render({
  machine,
  loadAtEnd,
  minutes,
  measured,
  choice,
  first,
  base,
  baseline,
  repeats,
  cpu,
  resumed,
}: Outcome): string {
  const words = base.reference.wer.words;
  const points = (run: TuningRun) => {
    const delta = (cost(run, base) / words) * 100;
    return `${delta > 0 ? "+" : delta < 0 ? "−" : "±"}${Math.abs(delta).toFixed(1)}`;
  };
  const mark = (m: Measured) =>
    m === first
      ? "baseline"
      : m.setting.factor === "serve"
        ? "earshot serve now"
        : m === choice.recommended
          ? "**recommended**"
          : m === choice.fast
            ? "**fast**"
            : "";
  const rows = measured
    .filter((m) => m.phase !== "repeat")
    .map((m) =>
      m.run
        ? [
            m.setting.factor,
            `\`${label(m.setting)}\``,
            `${percent(m.run.setting.wer.wer)} (${m.run.setting.wer.errors}/${words})`,
            points(m.run),
            fixed(rtf(m.run), 3),
            fixed(referenceRtf(m.run), 3),
            `${fixed(speedup(m.run))}×`,
            fixed(usageRtf(m.run), 3),
            String(Math.round(m.run.rssWithEngineMiB)),
            mark(m),
          ]
        : [m.setting.factor, `\`${label(m.setting)}\``, "failed", "", "", "", "", "", "", m.error ?? ""],
    );
  const rec = choice.recommended;
  const recRun = rec.run as TuningRun;
  const serveRow = measured.find((m) => m.setting.factor === "serve" && m.run);
  const noise = [first, ...(rec === first ? [] : [rec])].map((m) => {
    const runs = runsOf(measured, m);
    const spread = (list: number[]) =>
      `${(((Math.max(...list) - Math.min(...list)) / median(list)) * 100).toFixed(0)}%`;
    const series = (list: number[], digits: number) => list.map((v) => fixed(v, digits)).join(" / ");
    return [
      `\`${label(m.setting)}\``,
      series(runs.map(rtf), 3),
      spread(runs.map(rtf)),
      series(runs.map(referenceRtf), 3),
      `${series(runs.map(speedup), 2)} (${spread(runs.map(speedup))})`,
      [...new Set(runs.map((r) => `${r.setting.wer.errors}/${words}`))].join(", "),
    ];
  });
  const noiseShare = Math.max(
    ...[first, rec].map((m) => {
      const list = runsOf(measured, m).map(speedup);
      return (Math.max(...list) - Math.min(...list)) / median(list);
    }),
  );
  const referenceRtfs = measured.flatMap((m) => (m.run ? [referenceRtf(m.run)] : []));
  const referenceErrors = [...new Set(measured.flatMap((m) => (m.run ? [m.run.reference.wer.errors] : [])))];
  const failed = measured.filter((m) => !m.run);
  const load = (list: readonly number[]) => list.map((v) => v.toFixed(2)).join(" / ");
  const audio = base.audioSeconds.toFixed(1);
  const files = base.setting.files.length;
  const recMedian = median(runsOf(measured, rec).map(speedup));
  const serveNow = serveRow?.run
    ? `What \`earshot serve\` passes now, \`FAST_DECODER_ARGS\` (\`${flags(serveRow.setting.args)}\`, in ` +
      `\`packages/engine-pocketsphinx/src/engine.ts\`), scored ${percent(serveRow.run.setting.wer.wer)} ` +
      `(${points(serveRow.run)} points) at ${fixed(speedup(serveRow.run))}× the baseline's speed.`
    : "";
  const fast = choice.fast?.run
    ? `**Fast: \`${label(choice.fast.setting)}\`**: WER ${percent(choice.fast.run.setting.wer.wer)} ` +
      `(${points(choice.fast.run)} points), ${fixed(speedup(choice.fast.run))}× the baseline's speed, RTF ` +
      `${fixed(rtf(choice.fast.run), 3)} CPU (rule: the largest speed-up within ${FAST_MAX_COST_POINTS} points of the baseline, ` +
      `shown when it is at least ${FAST_MIN_GAIN}× the recommended one's).`
    : `No setting within ${FAST_MAX_COST_POINTS} WER points reached ${FAST_MIN_GAIN}× the recommended one's speed-up, ` +
      `so there is no separate "fast" setting.`;
  return `## PocketSphinx tuning

Generated by \`npm run bench:tune\` (\`bench/src/tuning-bench.ts\`; every number, per file too, in
\`bench/results/tuning.json\`), ${minutes.toFixed(1)} minutes${
    resumed === 0
      ? ""
      : resumed === measured.length
        ? " (rendered again from that run's saved measurements with `--resume`)"
        : ` in all (${resumed} of the ${measured.length} rows were measured by an earlier invocation and taken over with ` +
          "`--resume`; each row is paired with its own baseline, so rows measured at different times compare alike)"
  }. Each row runs in a fresh Node process
(\`bench/src/tuning-run.ts\`), pinned to one CPU (\`taskset --cpu-list ${cpu}\`), holding two engines, each \`PocketSphinxEngine({ workers: 1, decoderArgs })\`: one
with the baseline plus the flags shown, one with the baseline. They decode the ${files} files (${audio} s)
alternately, one file at a time (the tuned engine first on even files, the baseline first on odd ones), each
pushed in 100 ms pieces as fast as possible, finals joined per file, WER as above. Each engine decodes the
shortest file once first, not counted.

Baseline: \`${flags(baseline)}\`, the library's defaults for every flag swept (and the engine's
\`-fwdflat no\`), which are also \`PocketSphinxEngine\`'s defaults for them; the engine's other settings (\`-vad_postspeech\`
and the model) apply to both. It is explicit so the rows keep their meaning when the engine's defaults change.

- **RTF (CPU)** = CPU time of the process (\`process.cpuUsage()\`, user + system, all threads) across each file,
  summed per engine, / ${audio} s of audio. Only one engine decodes at a time and the main thread only pushes
  audio and reads events meanwhile, so nearly all of it is that engine's decoding (the main thread's share is
  included, so it is a little above the decoder's own).
- **Speed-up** = the baseline's CPU time / the setting's, from the same process. On this shared 2-core VM even
  CPU time is not stable: the baseline's RTF (CPU) ranged from ${fixed(Math.min(...referenceRtfs), 3)} to
  ${fixed(Math.max(...referenceRtfs), 3)} over the ${referenceRtfs.length} processes of this run (the VM reports no steal time, so time the host
  gives to other VMs counts as ours, and the two vCPUs are not equally affected). Alternating file by file on
  one pinned CPU exposes both engines to the same conditions, so the ratio holds where the absolute numbers
  drift (unpinned, the engines' threads settled on different vCPUs and a ratio once came out 0.5× that was
  1.1× in the next run); recommendations go by the ratio.
- **RTF (usage)** = the engine's \`usage.processingMs\` (wall time of the worker inside the decoder) / audio,
  for comparison: it also counts time the worker waited for a core.
- **RSS** = the process's peak RSS (\`resourceUsage().maxRSS\`) once the tuned engine (one worker, one decoder)
  had loaded and decoded one file, before the second engine was created; the process was
  ${Math.round(base.rssBeforeMiB)} MiB before.

Rows: one flag changed at a time, then combinations: for each flag its fastest value that costs at most
${RECOMMENDED_MAX_COST_POINTS} WER point and is at least ${fixed(COMBINE_MIN_SPEEDUP)}× faster (\`-fwdflat\` never: see below), merged in order of
speed-up (best 2, best 3, all). Δ WER is in points against the baseline; one word of the ${words} is
${fixed(100 / words, 1)} points, so differences of a point or two are within what another 200 words would move.

${table(
  [
    "flag",
    "setting",
    "WER (errors/words)",
    "Δ WER",
    "RTF (CPU)",
    "baseline's RTF (CPU), same process",
    "speed-up",
    "RTF (usage)",
    "RSS MiB",
    "",
  ],
  rows,
)}

**Recommended: \`${label(rec.setting)}\`**: WER ${percent(recRun.setting.wer.wer)} against
${percent(base.reference.wer.wer)} for the baseline (${points(recRun)} points), ${fixed(speedup(recRun))}× faster in CPU
time (RTF ${fixed(rtf(recRun), 3)} against ${fixed(referenceRtf(recRun), 3)} in the same process; median speed-up of its
${runsOf(measured, rec).length} runs ${fixed(recMedian)}×). Rule: the largest speed-up among the rows above whose WER is at most
${RECOMMENDED_MAX_COST_POINTS} point (${budget(base, RECOMMENDED_MAX_COST_POINTS)} words) above the baseline's. ${serveNow}

${fast}

Noise: the baseline (paired with itself) and the recommended setting ran ${repeats} more times after the sweep,
each in a fresh process.

${table(
  [
    "setting",
    "RTF (CPU), runs 1 / 2 / 3",
    "spread (max − min) / median",
    "baseline's RTF (CPU), same runs",
    "speed-up (spread)",
    "errors/words",
  ],
  noise,
)}

One run's speed-up is good to about ±${fixed(noiseShare * 50, 0)}% here (half the largest spread above), so rows closer than that are not told apart.
The baseline scored ${referenceErrors.map((e) => `${e}/${words}`).join(", ")} in every process (decoding is deterministic).
${
  failed.length === 0
    ? "Every flag was accepted by the Debian library (5prealpha)."
    : `Failed: ${failed.map((m) => `\`${label(m.setting)}\` (${m.error})`).join("; ")}.`
} \`-fwdflat yes\` also puts its second pass between each pause and its final (measured earlier: ~150 ms at p50,
up to 750 ms), which CPU time does not show, so it is never picked; \`-lw\` weighs the language model and is no
speed knob, though a heavier weight prunes more.

${table(
  ["", ""],
  [
    ["CPU", `${machine.cpuModel}, ${machine.logicalCores} logical cores`],
    ["Node", machine.node],
    ["pocketsphinx (dpkg)", machine.pocketsphinx],
    ["date", machine.date],
    ["command", `\`${machine.command}\``],
    ["code", machine.code],
    ["load average (1/5/15 min)", `${load(machine.loadAtStart)} at start, ${load(loadAtEnd)} at end`],
  ],
)}`;
}
