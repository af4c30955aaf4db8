/**
 * A staircase of load on one running cluster: N₁ real-time streams through HAProxy, a warm-up, a
 * measured window; then more streams join the ones still running (N₂ in all), another warm-up and
 * window; and so on until a stair fails. The cluster starts once per size, not once per step as in
 * `bench:load`, which keeps a full run of two engines × three sizes within minutes; the streams are
 * the load bench's own (`LoadStream`: the wire protocol over `ws`, frames paced by one timer), the
 * latencies its definitions (`utteranceStats`), measured per stair over that stair's window only.
 * A stair whose new streams are refused fails at once, without a window.
 */
import { createHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { connectAll, stagger } from "../load/load-step.js";
import { LoadStream } from "../load/load-stream.js";
import { Pacer } from "../load/pacer.js";
import type { Playlist } from "../load/playlist.js";
import { machineBusy, machineCpu, processCpuMs, treeCpuMs, treeRssMb } from "../load/proc-stats.js";
import { metricValue, sleep } from "../load/server-process.js";
import { talkRatioIn, utteranceStats } from "../load/utterance-stats.js";
import type { Cluster } from "./cluster-processes.js";
import { type StairResult, type StairStats, stairFailure } from "./cluster-results.js";

export interface StairOptions {
  readonly engine: string;
  /** Streams in all at each stair, ascending. */
  readonly stairs: readonly number[];
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly frameMs: number;
  /** The test engine's endpointing, to measure added latency; undefined for real engines. */
  readonly endpointingMs: number | undefined;
  /** What stream `k` plays. */
  readonly playlistFor: (k: number) => Playlist;
  /** Climb past a failing stair (latency only: a refusal always ends the staircase). */
  readonly all: boolean;
  readonly log: (line: string) => void;
}

/** Audio after a window before more streams join, so that window's late finals arrive undisturbed. */
const TAIL_MS = 3000;

export async function climbStairs(cluster: Cluster, options: StairOptions): Promise<StairResult[]> {
  const streams: LoadStream[] = [];
  const sendLag = createHistogram();
  const idleRssMb = cluster.nodes.map((node) => treeRssMb(node.pid));
  let pacer: Pacer | undefined;
  const measured: {
    stair: number;
    window: { from: number; to: number };
    partial: Omit<StairResult, keyof StairStats | "talkRatio">;
  }[] = [];
  try {
    for (const target of options.stairs) {
      const joining = Array.from(
        { length: Math.max(0, target - streams.length) },
        (_, i) =>
          new LoadStream({
            url: cluster.url,
            apiKey: cluster.keys[(streams.length + i) % cluster.keys.length] ?? "",
            playlist: options.playlistFor(streams.length + i),
            speed: 1,
            endpointingMs: options.endpointingMs,
            sendLag,
            frameMs: options.frameMs,
          }),
      );
      await connectAll(joining);
      const refused = joining.filter((s) => s.failure !== undefined);
      const admitted = joining.filter((s) => s.failure === undefined);
      const t0 = performance.now() + 200;
      admitted.forEach((stream, k) => {
        stream.start(t0 + stagger(k, admitted.length, options.frameMs));
      });
      streams.push(...admitted);
      pacer?.stop();
      pacer = new Pacer(streams);
      pacer.start();
      const failedBefore = streams.filter((s) => s.failure !== undefined).length;
      if (refused.length > 0) {
        measured.push({
          stair: target,
          window: { from: t0, to: t0 },
          partial: emptyStair(target, refused.length, countReasons(refused.map((s) => s.failure ?? ""))),
        });
        options.log(
          `  ${target} streams: ${refused.length} refused (${countReasons(refused.map((s) => s.failure ?? "")).join("; ")})`,
        );
        break;
      }

      await sleep(t0 + 1000 + options.warmupSeconds * 1000 - performance.now());
      const window = { from: performance.now(), to: 0 };
      const before = counters(cluster);
      sendLag.reset();
      const loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
      await sleep(options.seconds * 1000);
      window.to = performance.now();
      const after = counters(cluster);
      loopDelay.disable();
      const seconds = (window.to - window.from) / 1000;
      const percent = (ms: number) => ms / 10 / seconds;
      const nodeStreams = await Promise.all(cluster.nodes.map((node) => activeStreams(node.httpUrl)));
      const failed = streams.filter((s) => s.failure !== undefined);
      const partial = {
        streams: target,
        refused: 0,
        failed: failed.length - failedBefore,
        failures: countReasons(failed.map((s) => s.failure ?? "")),
        windowSeconds: seconds,
        nodes: cluster.nodes.map((node, i) => ({
          streams: nodeStreams[i],
          cpuPercent: percent((after.nodes[i] ?? 0) - (before.nodes[i] ?? 0)),
          mainCpuPercent: percent((after.nodeMains[i] ?? 0) - (before.nodeMains[i] ?? 0)),
          rssIdleMb: idleRssMb[i] ?? Number.NaN,
          rssEndMb: treeRssMb(node.pid),
          exited: node.exited(),
        })),
        haproxyCpuPercent: percent(after.haproxy - before.haproxy),
        redisCpuPercent: percent(after.redis - before.redis),
        generator: {
          cpuPercent: percent(after.generator - before.generator),
          sendLagP99Ms: sendLag.percentile(99) / 1000,
          loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        },
        machineBusyPercent: machineBusy(before.machine, after.machine) * 100,
      };
      measured.push({ stair: target, window, partial });
      await sleep(TAIL_MS);
      // Latencies of this stair's files are complete now (the tail let their finals in).
      const result = complete(partial, streams, window);
      const failure = stairFailure(options.engine, result);
      options.log(`  ${describeStair(result)} → ${failure ?? "pass"}`);
      if (result.failed > 0) {
        cluster.nodes.forEach((node, i) => {
          for (const line of node.stderrTail().slice(-3)) options.log(`    node${i + 1}: ${line}`);
        });
      }
      if (failure !== undefined && !options.all) break;
    }
  } finally {
    pacer?.stop();
    await Promise.all(streams.map((s) => s.finish()));
  }
  return measured.map(({ window, partial }) => complete(partial, streams, window));
}

function complete(
  partial: Omit<StairResult, keyof StairStats | "talkRatio">,
  streams: readonly LoadStream[],
  window: { from: number; to: number },
): StairResult {
  const { finalMsByClip: _byClip, finalTimeline: _timeline, ...stats } = utteranceStats(streams, window);
  return { ...partial, ...stats, talkRatio: talkRatioIn(streams, window) };
}

function emptyStair(
  streams: number,
  refused: number,
  failures: readonly string[],
): Omit<StairResult, keyof StairStats | "talkRatio"> {
  return {
    streams,
    refused,
    failed: 0,
    failures,
    windowSeconds: 0,
    nodes: [],
    haproxyCpuPercent: Number.NaN,
    redisCpuPercent: Number.NaN,
    generator: { cpuPercent: Number.NaN, sendLagP99Ms: Number.NaN, loopDelayP99Ms: Number.NaN },
    machineBusyPercent: Number.NaN,
  };
}

/** CPU time so far (ms): each node with its decoding processes, HAProxy, Redis, this generator; and the machine's. */
function counters(cluster: Cluster) {
  const safe = (read: () => number) => {
    try {
      return read();
    } catch {
      return Number.NaN;
    }
  };
  const own = process.cpuUsage();
  return {
    nodes: cluster.nodes.map((node) => safe(() => treeCpuMs(node.pid))),
    nodeMains: cluster.nodes.map((node) => safe(() => processCpuMs(node.pid))),
    haproxy: safe(() => processCpuMs(cluster.haproxy.pid)),
    redis: safe(() => processCpuMs(cluster.redis.pid)),
    generator: (own.user + own.system) / 1000,
    machine: machineCpu(),
  };
}

/** A node's `earshot_active_streams` on /metrics; undefined when it does not answer. */
async function activeStreams(httpUrl: string): Promise<number | undefined> {
  const response = await fetch(`${httpUrl}/metrics`).catch(() => undefined);
  if (!response?.ok) return undefined;
  return metricValue(await response.text(), "earshot_active_streams");
}

function describeStair(stair: StairResult): string {
  const ms = (v: number) => (v === Number.POSITIVE_INFINITY ? "lost" : `${Math.round(v)}`);
  const added = Number.isNaN(stair.addedMs.p95) ? "" : ` added p95 ${stair.addedMs.p95.toFixed(1)} ms,`;
  return (
    `${stair.streams} streams: final ${ms(stair.finalMs.p50)}/${ms(stair.finalMs.p95)} ms,${added} ${stair.utterances} files; ` +
    `nodes ${stair.nodes.map((n) => `${n.streams ?? "?"} streams ${n.cpuPercent.toFixed(0)}%`).join(", ")}; ` +
    `haproxy ${stair.haproxyCpuPercent.toFixed(1)}%, redis ${stair.redisCpuPercent.toFixed(1)}%, ` +
    `generator ${stair.generator.cpuPercent.toFixed(0)}%, machine ${stair.machineBusyPercent.toFixed(0)}%; failed ${stair.failed}`
  );
}

function countReasons(reasons: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `${count}× ${reason}`);
}
