/**
 * `npm run bench:long`: one stream of an hour of eval speech (files in a seeded random order, each
 * followed by 0.5–2.5 s of silence, looping) against a real `earshot serve` process, paced at
 * `--speed` times real time. Samples the server's RSS and CPU every 10 s of wall time and reports
 * RSS growth from minute 5 to the end and latency per 10-minute window, to show leaks and drift.
 * Saves docs/results/long-stream.json and renders the "One-hour stream" section of docs/benchmarks.md.
 *
 *   node bench/dist/load/long-run.js [--minutes 60] [--speed 1] [--seed 1] [--window-minutes 10]
 *     [--engine pocketsphinx|test] [--out FILE] [--doc FILE|none]
 *   node bench/dist/load/long-run.js --render-only   (re-render the docs from the saved results)
 */
import { loadavg } from "node:os";
import { createHistogram } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { mulberry32 } from "@earshot/test-support";
import { describeMachine } from "../machine.js";
import { BENCHMARKS_MD, replaceSection } from "./doc-section.js";
import { loadJson, saveJson } from "./load-results.js";
import { LoadStream } from "./load-stream.js";
import { LONG_RESULTS, type LongRun, type RssSample, renderLongSection, summarizeLong } from "./long-report.js";
import { Pacer } from "./pacer.js";
import { loadClips, shuffledPlaylist } from "./playlist.js";
import { processCpuMs, processRssMb } from "./proc-stats.js";
import { sleep, startServer } from "./server-process.js";
import { utteranceStats } from "./utterance-stats.js";

const SAMPLE_EVERY_MS = 10_000;
const GAP_MS: readonly [number, number] = [500, 2500];

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "60" },
    speed: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
    "window-minutes": { type: "string", default: "10" },
    engine: { type: "string", default: "pocketsphinx" },
    out: { type: "string", default: LONG_RESULTS },
    doc: { type: "string", default: BENCHMARKS_MD },
    "render-only": { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const speed = Number(values.speed);
const seed = Number(values.seed);
const windowMinutes = Number(values["window-minutes"]);
const engine = values.engine ?? "pocketsphinx";
if (!(minutes > 0) || !(speed > 0) || !Number.isInteger(seed) || !(windowMinutes > 0)) {
  throw new Error("usage: long-run [--minutes M>0] [--speed S>0] [--seed INT] [--window-minutes W>0] [--engine E]");
}

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = performance.now();
  const machine = describeMachine(`npm run bench:long -- ${process.argv.slice(2).join(" ")}`.trim());
  const audioMs = minutes * 60_000;
  log(
    `bench:long: ${minutes} min of audio at ${speed}× (${(minutes / speed).toFixed(1)} min), engine ${engine}, seed ${seed}`,
  );
  const server = await startServer(engine, 1);
  const rss: RssSample[] = [];
  const sendLag = createHistogram();
  const stream = new LoadStream({
    url: server.url,
    apiKey: server.keys[0] ?? "",
    playlist: shuffledPlaylist(loadClips(), mulberry32(seed), ...GAP_MS),
    speed,
    sendLag,
  });
  try {
    const rssIdleMb = processRssMb(server.pid);
    await stream.connect();
    stream.start(performance.now() + 100);
    const pacer = new Pacer([stream]);
    pacer.start();
    let nextSampleAt = performance.now();
    while (stream.sentMs < audioMs && stream.failure === undefined && server.exited() === undefined) {
      if (performance.now() >= nextSampleAt) {
        rss.push(sample(server.pid, stream, started));
        const last = rss.at(-1);
        if (rss.length % 30 === 1 && last)
          log(`  … ${last.audioMinute.toFixed(1)} min of audio, server RSS ${last.rssMb.toFixed(0)} MB`);
        nextSampleAt += SAMPLE_EVERY_MS;
      }
      await sleep(Math.min(200, Math.max(1, nextSampleAt - performance.now())));
    }
    pacer.stop();
    if (server.exited() === undefined) rss.push(sample(server.pid, stream, started));
    await stream.finish();

    const windows = [];
    const streamedMs = Math.min(stream.sentMs, audioMs);
    for (let from = 0; from < streamedMs; from += windowMinutes * 60_000) {
      const to = Math.min(from + windowMinutes * 60_000, streamedMs);
      const stats = utteranceStats([stream], { from: stream.wallTime(from), to: stream.wallTime(to) });
      windows.push({ fromMinute: from / 60_000, toMinute: to / 60_000, ...stats });
    }
    const run: LongRun = {
      machine,
      loadAtEnd: loadavg(),
      wallMinutes: (performance.now() - started) / 60_000,
      options: { minutes, speed, seed, windowMinutes, engine, gapMs: GAP_MS },
      audioMinutes: stream.sentMs / 60_000,
      failure: stream.failure ?? server.exited(),
      serverLogTail: server.stderrTail(),
      rssIdleMb,
      rss,
      windows,
      sendLagP99Ms: sendLag.percentile(99) / 1000,
      ...summarizeLong(stream, rss, minutes),
    };
    saveJson(values.out ?? LONG_RESULTS, run);
    printSummary(run);
    if (values.doc !== "none") {
      replaceSection(values.doc ?? BENCHMARKS_MD, "long-stream", renderLongSection(run));
      log(`wrote the One-hour stream section of ${values.doc}`);
    }
  } finally {
    await server.stop();
  }
}

function sample(pid: number, stream: LoadStream, started: number): RssSample {
  return {
    wallSeconds: (performance.now() - started) / 1000,
    audioMinute: stream.sentMs / 60_000,
    rssMb: processRssMb(pid),
    cpuMs: processCpuMs(pid),
  };
}

function printSummary(run: LongRun): void {
  const ms = (v: number) => (v === Number.POSITIVE_INFINITY ? "lost" : `${Math.round(v)} ms`);
  for (const w of run.windows) {
    log(
      `  minutes ${w.fromMinute.toFixed(1)}–${w.toMinute.toFixed(1)}: ${w.utterances} files, final p50 ${ms(w.finalMs.p50)} p95 ${ms(w.finalMs.p95)}, ` +
        `first partial p50 ${ms(w.firstPartialMs.p50)}, WER ${(w.wer.wer * 100).toFixed(1)}%`,
    );
  }
  log(
    `RSS ${run.rssReference.rssMb.toFixed(1)} MB at minute ${run.rssReference.audioMinute.toFixed(1)} → ${run.rssEnd.rssMb.toFixed(1)} MB at ` +
      `${run.rssEnd.audioMinute.toFixed(1)} (${(run.rssGrowth * 100).toFixed(1)}%); final latency slope ${run.driftMsPerHour.toFixed(0)} ms/hour; ` +
      `send lag p99 ${run.sendLagP99Ms.toFixed(1)} ms${run.failure ? `; FAILED: ${run.failure}` : ""}`,
  );
}

function renderOnly(): Promise<void> {
  const saved = loadJson<LongRun>(values.out ?? LONG_RESULTS);
  replaceSection(values.doc ?? BENCHMARKS_MD, "long-stream", renderLongSection(saved));
  log(`wrote the One-hour stream section of ${values.doc}${saved ? "" : " (not measured yet)"}`);
  return Promise.resolve();
}

(values["render-only"] ? renderOnly() : main()).catch((error: unknown) => {
  process.stderr.write(
    `bench:long failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
