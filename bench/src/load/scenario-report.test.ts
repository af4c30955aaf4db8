import assert from "node:assert/strict";
import { test } from "node:test";
import type { Machine } from "../machine.js";
import type { BurstResult } from "./burst.js";
import type { StepResult } from "./load-step.js";
import {
  burstTable,
  burstVerdict,
  callCentreTable,
  renderScenarioSection,
  summarizeBursts,
} from "./scenario-report.js";
import { callCentreCapacity, type ScenarioRun } from "./scenario-results.js";
import { metricValue } from "./server-process.js";
import { percentiles } from "./utterance-stats.js";

const machine: Machine = {
  cpuModel: "cpu",
  logicalCores: 2,
  memoryGiB: 4,
  kernel: "k",
  node: "v20",
  pocketsphinx: "5",
  date: "2026-12-06",
  command: "npm run bench:load -- --mode burst",
  code: "commit abc, clean",
  loadAtStart: [0, 0, 0],
};

function burstResult(mode: "burst" | "steady", finalMs: number[], decoders: number | undefined): BurstResult {
  const firstPartialMs = finalMs.map((v) => v + 100);
  return {
    mode,
    streams: finalMs.length,
    refused: 0,
    failed: 0,
    failures: [],
    sessionStartMs: percentiles([5, 10]),
    firstPartialMs: percentiles(firstPartialMs),
    firstPartialFromOnsetMs: percentiles(firstPartialMs),
    finalMs: percentiles(finalMs),
    samples: { finalMs, firstPartialMs },
    missingFinals: 0,
    wer: { wer: 0, errors: 0, words: 10, substitutions: 0, deletions: 0, insertions: 0 } as BurstResult["wer"],
    decodersOnConnect: decoders,
    windowSeconds: 10,
    cpuPercent: 80,
    cpuPercentPerStream: 20,
    rssIdleMb: 100,
    rssPeakMb: 140,
    rssPerStreamMb: 10,
    processes: 2,
    serverExited: undefined,
  };
}

function run(label: string, extra: Partial<ScenarioRun>): ScenarioRun {
  return {
    mode: "burst",
    label,
    engine: "pocketsphinx",
    machine,
    server: { repo: "/repo", code: "commit abc, clean" },
    loadAtEnd: [0, 0, 0],
    minutes: 1,
    options: { streams: [4], seed: 1, frameMs: 100, serveArgs: [], runs: 2 },
    ...extra,
  };
}

function step(streams: number, p95: number, refused = 0): StepResult {
  return {
    streams,
    refused,
    failed: 0,
    utterances: 10,
    finalMs: { count: 10, p50: p95 / 2, p95, p99: p95 },
    server: { exited: undefined },
    serverTree: {
      cpuPercent: streams * 10,
      rssIdleMb: 100,
      rssEndMb: 100 + streams * 5,
      rssPerStreamMb: 5,
      processesAtEnd: 2,
    },
    talkRatio: 0.41,
    failures: [],
  } as unknown as StepResult;
}

test("burstVerdict compares burst p95 with the steady state's against 100 ms", () => {
  assert.equal(burstVerdict(450, 400), "+50 ms, within 100 ms");
  assert.equal(burstVerdict(520, 400), "+120 ms, over 100 ms");
  assert.equal(burstVerdict(380, 400), "−20 ms, within 100 ms");
  assert.equal(burstVerdict(Number.POSITIVE_INFINITY, 400), "lost finals");
  assert.equal(burstVerdict(Number.NaN, 400), "—");
});

test("summarizeBursts pools every run's files before taking percentiles", () => {
  const summary = summarizeBursts(
    run("before", {
      bursts: [
        {
          burst: burstResult("burst", [100, 200, 300, 400], undefined),
          steady: burstResult("steady", [100, 100, 100, 100], undefined),
        },
        {
          burst: burstResult("burst", [500, 600, 700, 800], undefined),
          steady: burstResult("steady", [200, 200, 200, 200], undefined),
        },
      ],
    }),
  );
  assert.equal(summary.runs, 2);
  assert.equal(summary.burst.finalMs.count, 8);
  assert.equal(summary.burst.finalMs.p50, 400);
  assert.equal(summary.burst.finalMs.p95, 800);
  assert.equal(summary.steady.finalMs.p95, 200);
  assert.deepEqual(summary.decodersOnConnect, [undefined, undefined]);
});

test("the burst table puts labels side by side; a missing decoder metric reads n/a", () => {
  const before = run("before", {
    bursts: [
      { burst: burstResult("burst", [300, 900], undefined), steady: burstResult("steady", [300, 400], undefined) },
    ],
  });
  const after = run("after", {
    bursts: [{ burst: burstResult("burst", [300, 420], 0), steady: burstResult("steady", [300, 400], 0) }],
  });
  const text = burstTable([before, after]);
  assert.match(text, /^\| {2}\| before \| after \|$/m);
  assert.match(text, /\| final p95, burst − steady \| \+500 ms, over 100 ms \| \+20 ms, within 100 ms \|/);
  assert.match(text, /\| decoders created on connect \(per run\) \| n\/a \| 0 \|/);
});

test("the call-centre table shows each N once, labels next to each other, and the capacity", () => {
  const before = run("before", {
    mode: "callcentre",
    callCentre: { steps: [step(4, 300), step(8, 700)], capacity: callCentreCapacity([step(4, 300), step(8, 700)]) },
  });
  const after = run("after", {
    mode: "callcentre",
    callCentre: { steps: [step(4, 250), step(8, 400), step(16, 450, 2)], capacity: 8 },
  });
  assert.equal(before.callCentre?.capacity, 4);
  assert.equal(callCentreCapacity([step(4, 300), step(8, 400), step(16, 450, 2)]), 8);
  const text = callCentreTable([before, after]);
  assert.match(text, /before \*\*4 streams\*\*, after \*\*8 streams\*\*/);
  assert.match(text, /\| N \| admitted \/ refused \(before\) \| admitted \/ refused \(after\) \|/);
  assert.match(text, /\| 16 \| — \| 14 \/ 2 \|/);
  assert.match(text, /41\.0%/);
  const section = renderScenarioSection([before, after]);
  assert.ok(section.startsWith("## Bursts and the call-centre playlist"));
  assert.match(section, /### Burst\n\nNot measured yet\./);
});

test("metricValue reads one labelled sample of Prometheus text", () => {
  const text = [
    "# TYPE earshot_decoders_created_total counter",
    'earshot_decoders_created_total{when="connect"} 8',
    'earshot_decoders_created_total{when="pool"} 3',
  ].join("\n");
  assert.equal(metricValue(text, 'earshot_decoders_created_total{when="connect"}'), 8);
  assert.equal(metricValue(text, 'earshot_decoders_created_total{when="idle"}'), undefined);
});

test("a burst run of several N gets one column per N", () => {
  const mixed = run("after", {
    bursts: [
      { burst: burstResult("burst", [300, 400], 0), steady: burstResult("steady", [300, 400], 0) },
      { burst: burstResult("burst", [300, 400, 500, 600], 0), steady: burstResult("steady", [300, 400, 500, 600], 0) },
    ],
  });
  assert.match(burstTable([mixed]), /^\| {2}\| after, N=2 \| after, N=4 \|$/m);
  assert.match(burstTable([mixed]), /\| streams × runs \| 2 × 1 \| 4 × 1 \|/);
});
