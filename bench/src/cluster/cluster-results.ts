/**
 * What `npm run bench:cluster` saves (docs/results/cluster.json) and how a stair passes: the load
 * bench's rule (`bench:load`, `stepFailure`), so a cluster's capacity compares with one box's.
 */
import { ADDED_P95_LIMIT_MS, FINAL_P95_LIMIT_MS } from "../load/load-results.js";
import type { UtteranceStats } from "../load/utterance-stats.js";
import type { Machine } from "../machine.js";
import type { HaproxyLimits } from "./haproxy-config.js";
import type { CpuList } from "./pinning.js";

export interface NodeStair {
  /** `earshot_active_streams` on the node's /metrics at the end of the window. */
  readonly streams: number | undefined;
  /** The node and its decoding processes, % of one core over the window. */
  readonly cpuPercent: number;
  /** Of it, the node's own process (the main thread with the VAD, and its libuv threads). */
  readonly mainCpuPercent: number;
  /** The node and its decoding processes: RSS before the first stream, and at the end of the window. */
  readonly rssIdleMb: number;
  readonly rssEndMb: number;
  readonly exited: string | undefined;
}

/** The load bench's utterance statistics, without the per-file lists (thousands of entries per test-engine stair). */
export type StairStats = Omit<UtteranceStats, "finalMsByClip" | "finalTimeline">;

export interface StairResult extends StairStats {
  /** Streams in all on this stair. */
  readonly streams: number;
  /** Of the streams that joined on this stair: refused at connect (the stair then ends the staircase). */
  readonly refused: number;
  /** Streams that failed (error, unexpected close) during this stair. */
  readonly failed: number;
  readonly failures: readonly string[];
  readonly windowSeconds: number;
  readonly nodes: readonly NodeStair[];
  /** % of one core over the window. */
  readonly haproxyCpuPercent: number;
  readonly redisCpuPercent: number;
  readonly generator: { readonly cpuPercent: number; readonly sendLagP99Ms: number; readonly loopDelayP99Ms: number };
  /** All cores, everyone's work, % of all cores. */
  readonly machineBusyPercent: number;
  /** Speech / all audio the streams played inside the window. */
  readonly talkRatio: number;
}

/** One cluster size of one engine: its pinning, its stairs, its capacity. */
export interface ClusterSize {
  readonly nodes: number;
  readonly pins: readonly CpuList[];
  readonly stairs: readonly StairResult[];
  readonly capacity: number;
  /** `uptime`'s 1, 5 and 15 minute load averages before the cluster started and after it stopped. */
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

export interface EngineRun {
  readonly engine: string;
  /** `callcentre` (1–6 s pauses, about 40% speech) or `steps` (1 s after each file), as `bench:load` plays them. */
  readonly playlist: string;
  readonly sizes: readonly ClusterSize[];
}

export interface ClusterRun {
  readonly machine: Machine;
  readonly loadAtEnd: readonly number[];
  readonly minutes: number;
  readonly quick: boolean;
  readonly options: {
    readonly seconds: Readonly<Record<string, number>>;
    readonly warmupSeconds: number;
    readonly seed: number;
    readonly frameMs: number;
    readonly pin: boolean;
    readonly serveArgs: readonly string[];
  };
  readonly haproxy: HaproxyLimits & { readonly shippedServerMaxconn: number | undefined; readonly version: string };
  readonly redisVersion: string;
  readonly engines: readonly EngineRun[];
}

/** Why a stair fails, or undefined when it passes: `bench:load`'s rule, plus every node alive. */
export function stairFailure(engine: string, stair: StairResult): string | undefined {
  const dead = stair.nodes.find((node) => node.exited !== undefined);
  if (dead) return `a node ${dead.exited}`;
  if (stair.refused > 0) return `${stair.refused} streams refused`;
  if (stair.failed > 0) return `${stair.failed} streams failed`;
  if (stair.utterances === 0) return "no utterance measured";
  if (engine === "test")
    return stair.addedMs.p95 < ADDED_P95_LIMIT_MS ? undefined : `added p95 ≥ ${ADDED_P95_LIMIT_MS} ms`;
  return stair.finalMs.p95 < FINAL_P95_LIMIT_MS ? undefined : `final p95 ≥ ${FINAL_P95_LIMIT_MS} ms`;
}

/** The largest stair that passed, every lower stair passing too; 0 when none did. */
export function clusterCapacity(engine: string, stairs: readonly StairResult[]): number {
  let capacity = 0;
  for (const stair of [...stairs].sort((a, b) => a.streams - b.streams)) {
    if (stairFailure(engine, stair) !== undefined) break;
    capacity = stair.streams;
  }
  return capacity;
}
