/**
 * One step of the load test: a fresh `earshot serve` process, N concurrent real-time streams of the
 * eval audio, a warm-up, then a measured window. Server CPU and RSS come from /proc (all of the
 * server's threads, none of the generator's); the generator's own CPU, send lag and event-loop delay
 * are reported too, because it shares the machine's cores with the server.
 */
import { createHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { mulberry32 } from "@earshot/test-support";
import { type LoadStream, liveStreams } from "./load-stream.js";
import { Pacer } from "./pacer.js";
import { type Clip, FRAME_MS, type Playlist, shuffledPlaylist } from "./playlist.js";
import {
  machineBusy,
  machineCpu,
  processCpuMs,
  processRssMb,
  processTree,
  treeCpuMs,
  treeRssMb,
} from "./proc-stats.js";
import { metricValue, sleep, startServer } from "./server-process.js";
import { talkRatioIn, type UtteranceStats, utteranceStats } from "./utterance-stats.js";

export interface StepOptions {
  readonly engine: string;
  /** Further `earshot serve` flags for the server under test. */
  readonly serveArgs?: readonly string[];
  /** Node flags for the server process (e.g. --cpu-prof). */
  readonly serverNodeArgs?: readonly string[];
  readonly streams: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly seed: number;
  readonly clips: readonly Clip[];
  /** The test engine's endpointing, to measure added latency; undefined for real engines. */
  readonly endpointingMs?: number | undefined;
  /** Audio per message, ms (default 100). */
  readonly frameMs?: number;
  /** What stream `k` plays; default the eval files in a seeded shuffle, 1 s of silence after each. */
  readonly playlistFor?: (k: number) => Playlist;
  /** The checkout whose server build runs (default this one). */
  readonly serverRepo?: string;
}

export interface StepResult extends UtteranceStats {
  readonly streams: number;
  /** Streams refused or failed at connect, and streams that failed later (error or unexpected close). */
  readonly refused: number;
  readonly failed: number;
  /** Distinct failure reasons with counts, most common first. */
  readonly failures: readonly string[];
  /** Distinct `warning` messages the server sent, with counts. */
  readonly warnings: readonly string[];
  readonly windowSeconds: number;
  /** Test engine: finals that came before their due frame was sent (left out of added latency). */
  readonly finalsBeforeDue: number;
  readonly server: {
    /** CPU over the window, % of one core (200% = both cores of a 2-core machine). */
    readonly cpuPercent: number;
    readonly rssIdleMb: number;
    readonly rssEndMb: number;
    readonly rssPeakMb: number;
    /** (RSS at the end of the window − RSS before any stream) / streams. */
    readonly rssPerStreamMb: number;
    readonly exited: string | undefined;
    readonly logTail: readonly string[];
  };
  /**
   * The server and its decoding processes together (the numbers above are the server process
   * alone): CPU over the window in % of one core; RSS idle (before any stream) and at the end.
   */
  readonly serverTree: {
    readonly cpuPercent: number;
    readonly rssIdleMb: number;
    readonly rssEndMb: number;
    readonly rssPerStreamMb: number;
    readonly processesAtEnd: number;
  };
  /** Speech / all audio the streams played inside the window. */
  readonly talkRatio: number;
  readonly generator: {
    readonly cpuPercent: number;
    readonly sendLagP99Ms: number;
    readonly sendLagMaxMs: number;
    readonly loopDelayP99Ms: number;
    readonly maxBufferedKb: number;
  };
  /** All cores, everyone's work (server, generator, anything else on the machine), % of all cores. */
  readonly machineBusyPercent: number;
  /**
   * Once a second from the start of the audio: [s since the window's start, decoders, lent, utterances
   * waiting for one, waits so far, server utilization] from /metrics; empty when the server has no pool.
   */
  readonly poolTimeline?: readonly (readonly number[])[];
}

const POOL_SAMPLES = [
  "earshot_decoder_pool_size",
  "earshot_decoder_pool_lent",
  "earshot_decoder_pool_waiting",
  "earshot_decoder_waits_total",
  "earshot_server_utilization_ratio",
] as const;

const CONNECT_CONCURRENCY = 50;
/** Audio after the window, so finals for speech that ended near its end arrive while streaming. */
const TAIL_MS = 3000;

export async function runStep(options: StepOptions): Promise<StepResult> {
  const n = options.streams;
  const server = await startServer(options.engine, n, options.serveArgs, options.serverNodeArgs, options.serverRepo);
  try {
    const rssIdleMb = processRssMb(server.pid);
    const treeRssIdleMb = treeRssMb(server.pid);
    const sendLag = createHistogram();
    const streams = liveStreams(
      server,
      n,
      (k) => options.playlistFor?.(k) ?? shuffledPlaylist(options.clips, mulberry32(options.seed * 100_003 + k), 1000),
      {
        endpointingMs: options.endpointingMs,
        sendLag,
        ...(options.frameMs === undefined ? {} : { frameMs: options.frameMs }),
      },
    );

    await connectAll(streams);
    const open = streams.filter((s) => s.failure === undefined);
    const refused = n - open.length;

    const t0 = performance.now() + 200;
    open.forEach((stream, k) => {
      stream.start(t0 + stagger(k, open.length, options.frameMs));
    });
    const pacer = new Pacer(open);
    pacer.start();
    let rssPeakMb = rssIdleMb;
    const window = { from: t0 + 1000 + options.warmupSeconds * 1000, to: 0 };
    const poolTimeline: number[][] = [];
    const sampler = setInterval(() => {
      if (server.exited() !== undefined) return;
      rssPeakMb = Math.max(rssPeakMb, processRssMb(server.pid));
      const at = Math.round((performance.now() - window.from) / 100) / 10;
      void fetch(`${server.httpUrl}/metrics`)
        .then((response) => (response.ok ? response.text() : undefined))
        .then((text) => {
          const values = text === undefined ? [] : POOL_SAMPLES.map((sample) => metricValue(text, sample));
          if (values.length > 0 && values.every((v) => v !== undefined))
            poolTimeline.push([at, ...(values as number[])]);
        })
        .catch(() => {});
    }, 1000);

    await sleep(window.from - performance.now());
    const before = readCounters(server.pid);
    sendLag.reset();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    await sleep(options.seconds * 1000);
    window.to = performance.now();
    const after = readCounters(server.pid);
    loopDelay.disable();
    const rssEndMb = server.exited() === undefined ? processRssMb(server.pid) : Number.NaN;
    const treeRssEndMb = server.exited() === undefined ? treeRssMb(server.pid) : Number.NaN;
    const processesAtEnd = server.exited() === undefined ? processTree(server.pid).length : 0;
    const generator = {
      cpuPercent: percentOf(after.generatorCpuMs - before.generatorCpuMs, window),
      sendLagP99Ms: sendLag.percentile(99) / 1000,
      sendLagMaxMs: sendLag.max / 1000,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      maxBufferedKb: Math.max(0, ...open.map((s) => s.maxBufferedBytes)) / 1024,
    };

    await sleep(TAIL_MS);
    pacer.stop();
    clearInterval(sampler);
    await Promise.all(open.map((s) => s.finish()));
    const failedLater = open.filter((s) => s.failure !== undefined).length;
    return {
      streams: n,
      refused,
      failed: failedLater,
      failures: countReasons(streams.flatMap((s) => (s.failure === undefined ? [] : [s.failure]))),
      warnings: countReasons(streams.flatMap((s) => s.warnings)),
      windowSeconds: (window.to - window.from) / 1000,
      finalsBeforeDue: open.reduce((total, s) => total + s.finalsBeforeDue, 0),
      ...utteranceStats(open, window),
      server: {
        cpuPercent: percentOf(after.serverCpuMs - before.serverCpuMs, window),
        rssIdleMb,
        rssEndMb,
        rssPeakMb,
        rssPerStreamMb: (rssEndMb - rssIdleMb) / n,
        exited: server.exited(),
        logTail: server.stderrTail(),
      },
      serverTree: {
        cpuPercent: percentOf(after.treeCpuMs - before.treeCpuMs, window),
        rssIdleMb: treeRssIdleMb,
        rssEndMb: treeRssEndMb,
        rssPerStreamMb: (treeRssEndMb - treeRssIdleMb) / n,
        processesAtEnd,
      },
      talkRatio: talkRatioIn(open, window),
      generator,
      machineBusyPercent: machineBusy(before.machine, after.machine) * 100,
      poolTimeline,
    };
  } finally {
    await server.stop();
  }
}

/**
 * Start offsets that spread N streams over one second and their frames evenly over one frame
 * period (`frameMs`, default 100 ms), so frames never all land at once.
 */
export function stagger(k: number, n: number, frameMs: number = FRAME_MS): number {
  return Math.floor((k * 10) / n) * FRAME_MS + (((k * frameMs) / n) % frameMs);
}

/** Connects `streams`, `CONNECT_CONCURRENCY` at a time; a refusal is left in the stream's `failure`. */
export async function connectAll(streams: readonly LoadStream[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < streams.length) {
      const stream = streams[next++];
      await stream?.connect().catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
}

function readCounters(serverPid: number) {
  const cpu = process.cpuUsage();
  let serverCpuMs = Number.NaN;
  let treeCpu = Number.NaN;
  try {
    serverCpuMs = processCpuMs(serverPid);
    treeCpu = treeCpuMs(serverPid);
  } catch {}
  return { serverCpuMs, treeCpuMs: treeCpu, generatorCpuMs: (cpu.user + cpu.system) / 1000, machine: machineCpu() };
}

function percentOf(cpuMs: number, window: { from: number; to: number }): number {
  return (cpuMs / (window.to - window.from)) * 100;
}

function countReasons(reasons: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `${count}× ${reason}`);
}
