/**
 * A burst: a fresh `earshot serve` idles 10 s after /readyz, then N streams connect within 100 ms of
 * each other, each plays one eval file in real time followed by 1 s of silence. The steady-state
 * counterpart plays the same files on streams already running (connected and warmed up on another
 * file), aligned the same way, so the difference between the two is what the connect path costs.
 */

import { createHistogram } from "node:perf_hooks";
import { mulberry32, type WerResult, wer } from "@earshot/test-support";
import { type LoadStream, liveStreams } from "./load-stream.js";
import { Pacer } from "./pacer.js";
import { type Clip, clipMs, FRAME_MS, type Playlist, type PlaylistItem } from "./playlist.js";
import { processTree, treeCpuMs, treeRssMb } from "./proc-stats.js";
import { scrapeMetric, sleep, startServer, waitForReadyz } from "./server-process.js";
import { type Percentiles, percentiles } from "./utterance-stats.js";

export type BurstMode = "burst" | "steady";

/** The server's count of engine streams (decoders) opened on a connection's own path. */
export const DECODERS_ON_CONNECT = 'earshot_decoders_created_total{when="connect"}';

export interface BurstOptions {
  readonly mode: BurstMode;
  readonly engine: string;
  readonly streams: number;
  readonly seed: number;
  readonly clips: readonly Clip[];
  readonly serveArgs?: readonly string[];
  readonly serverRepo?: string;
  /** Audio per message, ms (default 100). */
  readonly frameMs?: number;
  /** Idle time between /readyz and the first connect (10 s). */
  readonly idleMs?: number;
  /** Connects are spread evenly over this (100 ms). */
  readonly connectSpreadMs?: number;
}

export interface BurstResult {
  readonly mode: BurstMode;
  readonly streams: number;
  readonly refused: number;
  readonly failed: number;
  readonly failures: readonly string[];
  /** Connect call → `session_started`. */
  readonly sessionStartMs: Percentiles;
  /** First non-empty partial − the file's first audio (for a burst, the stream's first audio). */
  readonly firstPartialMs: Percentiles;
  /** First non-empty partial − the file's speech onset (the load bench's definition). */
  readonly firstPartialFromOnsetMs: Percentiles;
  /** Last non-empty final − the file's end of speech; a file without a final counts as infinite. */
  readonly finalMs: Percentiles;
  /** Every file's latencies (ms), to pool several runs: final (Infinity when lost) and first partial from first audio. */
  readonly samples: { readonly finalMs: readonly number[]; readonly firstPartialMs: readonly number[] };
  readonly missingFinals: number;
  readonly wer: WerResult;
  /** `earshot_decoders_created_total{when="connect"}` over the run; undefined when the server has no such metric. */
  readonly decodersOnConnect: number | undefined;
  /**
   * Server plus decoding processes: CPU over the measured span (burst: first connect → end; steady:
   * the measured files), RSS idle (before the first connect) and its peak from then on.
   */
  readonly windowSeconds: number;
  readonly cpuPercent: number;
  readonly cpuPercentPerStream: number;
  readonly rssIdleMb: number;
  readonly rssPeakMb: number;
  readonly rssPerStreamMb: number;
  readonly processes: number;
  readonly serverExited: string | undefined;
}

const IDLE_MS = 10_000;
const CONNECT_SPREAD_MS = 100;
const GAP_FRAMES = 10;
/** Silence streamed after the gap, so finals decided late still arrive while streaming. */
const TAIL_MS = 3000;
/** Steady state: what every stream plays before the measured file (another eval file, then silence). */
const WARMUP_MS = Math.ceil(15_000 / FRAME_MS) * FRAME_MS;

/** Digital silence as a playlist item, long enough to outlast any run. */
const SILENCE: PlaylistItem = {
  clip: { id: "silence", text: "", frames: [], onsetMs: 0, endMs: 0 },
  gapFrames: 36_000,
};

/** The file stream `k` of a run measures, and (steady state) the one it warms up on: seeded. */
export function burstFiles(clips: readonly Clip[], seed: number, k: number): { measured: Clip; warmup: Clip } {
  const random = mulberry32(seed * 100_003 + k);
  const at = Math.floor(random() * clips.length);
  const measured = clips[at];
  const warmup = clips[(at + 1 + Math.floor(random() * (clips.length - 1))) % clips.length];
  if (!measured || !warmup) throw new RangeError("a burst needs at least one clip");
  return { measured, warmup };
}

/** Where the measured file starts in its stream, ms: 0 for a burst, after the padded warm-up file otherwise. */
export function measuredStartMs(mode: BurstMode, warmup: Clip): number {
  return mode === "steady" ? Math.max(WARMUP_MS, clipMs(warmup) + 1000) : 0;
}

/** Burst: the file, 1 s of silence, then silence. Steady: a warm-up file padded to 15 s first. */
export function burstPlaylist(mode: BurstMode, files: { measured: Clip; warmup: Clip }): Playlist {
  const items: PlaylistItem[] = [];
  if (mode === "steady") {
    const warmupFrames = measuredStartMs(mode, files.warmup) / FRAME_MS;
    items.push({ clip: files.warmup, gapFrames: warmupFrames - files.warmup.frames.length });
  }
  items.push({ clip: files.measured, gapFrames: GAP_FRAMES });
  return () => items.shift() ?? SILENCE;
}

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const n = options.streams;
  const server = await startServer(options.engine, n, options.serveArgs, [], options.serverRepo);
  try {
    await waitForReadyz(server);
    await sleep(options.idleMs ?? IDLE_MS);
    const decodersBefore = await scrapeMetric(server, DECODERS_ON_CONNECT);
    const rssIdleMb = treeRssMb(server.pid);
    const sendLag = createHistogram();
    const measuredIndex = options.mode === "steady" ? 1 : 0;
    const files = Array.from({ length: n }, (_, k) => burstFiles(options.clips, options.seed, k));
    const streams = liveStreams(
      server,
      n,
      (k) => burstPlaylist(options.mode, files[k] ?? burstFiles(options.clips, options.seed, k)),
      { sendLag, ...(options.frameMs === undefined ? {} : { frameMs: options.frameMs }) },
    );
    const pacer = new Pacer(streams);
    let rssPeakMb = rssIdleMb;
    const sampler = setInterval(() => {
      if (server.exited() === undefined) rssPeakMb = Math.max(rssPeakMb, treeRssMb(server.pid));
    }, 250);

    const spreadMs = options.connectSpreadMs ?? CONNECT_SPREAD_MS;
    const connectedAt: number[] = [];
    const burstFrom = performance.now();
    const cpuAtBurst = treeCpuMs(server.pid);
    await Promise.all(
      streams.map(async (stream, k) => {
        await sleep((k * spreadMs) / n);
        const calledAt = performance.now();
        try {
          await stream.connect();
        } catch {
          return;
        }
        connectedAt.push(performance.now() - calledAt);
        // Audio starts at session_started; one pacer loop for all, restarted for each new stream.
        stream.start(performance.now());
        pacer.stop();
        pacer.start();
      }),
    );
    const open = streams.filter((s) => s.failure === undefined);
    const fileOf = (s: LoadStream) => files[streams.indexOf(s)] ?? burstFiles(options.clips, options.seed, 0);
    const fileStartAt = (s: LoadStream) => s.wallTime(measuredStartMs(options.mode, fileOf(s).warmup));
    // The measured span: steady state starts where the measured files start; a burst at its first connect.
    const from = options.mode === "burst" || open.length === 0 ? burstFrom : Math.min(...open.map(fileStartAt));
    if (options.mode === "steady") await sleep(from - performance.now());
    const cpuFrom = options.mode === "burst" ? cpuAtBurst : treeCpuMs(server.pid);
    const until = Math.max(
      performance.now(),
      ...open.map((s) => fileStartAt(s) + clipMs(fileOf(s).measured) + GAP_FRAMES * FRAME_MS + TAIL_MS),
    );
    await sleep(until - performance.now());
    const to = performance.now();
    const cpuMs = server.exited() === undefined ? treeCpuMs(server.pid) - cpuFrom : Number.NaN;
    const processes = server.exited() === undefined ? processTree(server.pid).length : 0;
    clearInterval(sampler);
    pacer.stop();
    await Promise.all(open.map((s) => s.finish()));
    const decodersAfter = await scrapeMetric(server, DECODERS_ON_CONNECT);

    const measured = open.flatMap((s) => {
      const played = s.played[measuredIndex];
      return played ? [{ stream: s, played }] : [];
    });
    const finalMs = measured.map(({ stream, played }) =>
      played.lastFinalAt === undefined
        ? Number.POSITIVE_INFINITY
        : played.lastFinalAt - stream.wallTime(played.startMs + played.clip.endMs),
    );
    const partials = measured.filter(({ played }) => played.firstPartialAt !== undefined);
    const firstPartialMs = partials.map(
      ({ stream, played }) => (played.firstPartialAt ?? 0) - stream.wallTime(played.startMs),
    );
    const windowSeconds = (to - from) / 1000;
    const cpuPercent = (cpuMs / (to - from)) * 100;
    return {
      mode: options.mode,
      streams: n,
      refused: n - open.length,
      failed: open.filter((s) => s.failure !== undefined).length,
      failures: [...new Set(streams.flatMap((s) => (s.failure === undefined ? [] : [s.failure])))],
      sessionStartMs: percentiles(connectedAt),
      firstPartialMs: percentiles(firstPartialMs),
      firstPartialFromOnsetMs: percentiles(
        partials.map(
          ({ stream, played }) => (played.firstPartialAt ?? 0) - stream.wallTime(played.startMs + played.clip.onsetMs),
        ),
      ),
      finalMs: percentiles(finalMs),
      samples: { finalMs, firstPartialMs },
      missingFinals: measured.filter(({ played }) => played.lastFinalAt === undefined).length,
      wer: wer(measured.map(({ played }) => [played.clip.text, played.finals.join(" ")])),
      decodersOnConnect:
        decodersBefore === undefined || decodersAfter === undefined ? undefined : decodersAfter - decodersBefore,
      windowSeconds,
      cpuPercent,
      cpuPercentPerStream: cpuPercent / open.length,
      rssIdleMb,
      rssPeakMb,
      rssPerStreamMb: (rssPeakMb - rssIdleMb) / open.length,
      processes,
      serverExited: server.exited(),
    };
  } finally {
    await server.stop();
  }
}
