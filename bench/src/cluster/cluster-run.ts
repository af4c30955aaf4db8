/**
 * `npm run bench:cluster`: the aggregate capacity of 1, 2 and 3 `earshot serve --redis` nodes
 * behind a real HAProxy, with a real redis-server, on this machine, for each engine. Per engine and
 * cluster size: start Redis, the nodes (pinned to cores per `pinPlan`) and HAProxy, climb the
 * staircase of streams until a stair fails (cluster-stairs.ts), stop everything. Capacity is
 * `bench:load`'s: the most concurrent real-time streams with nothing refused or failed and p95
 * final < 500 ms (PocketSphinx) or p95 added < 20 ms (test engine). Saves docs/results/cluster.json
 * and renders the "Cluster" section of docs/benchmarks.md from it.
 *
 *   node bench/dist/cluster/cluster-run.js [--engines pocketsphinx,test] [--nodes 1,2,3]
 *     [--pocketsphinx-stairs 4,6,8,…] [--test-stairs 500,1000,…] [--pocketsphinx-seconds 20] [--test-seconds 10]
 *     [--warmup 3] [--seed 1] [--frame-ms 100] [--pin auto|none] [--server-maxconn 5000] [--serve-arg=…]
 *     [--all] [--out FILE] [--doc FILE|none]
 *   node bench/dist/cluster/cluster-run.js --quick      (a smoke check, about 2 minutes: one small stair per size; writes nothing)
 *   node bench/dist/cluster/cluster-run.js --render-only
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { mulberry32 } from "@earshot/test-support";
import { BENCHMARKS_MD, replaceSection } from "../load/doc-section.js";
import { loadJson, RESULTS_DIR, saveJson } from "../load/load-results.js";
import { FRAME_SIZES_MS } from "../load/load-stream.js";
import { type Clip, callCentrePlaylist, loadClips, type Playlist, shuffledPlaylist } from "../load/playlist.js";
import { describeMachine } from "../machine.js";
import { haproxyLimitsFor, SHIPPED_HAPROXY_CFG, startCluster } from "./cluster-processes.js";
import { renderClusterSection, SECTION_NAME } from "./cluster-report.js";
import { type ClusterRun, type ClusterSize, clusterCapacity, type EngineRun } from "./cluster-results.js";
import { climbStairs } from "./cluster-stairs.js";
import { shippedServerMaxconn } from "./haproxy-config.js";
import { describePins, pinPlan } from "./pinning.js";

export const RESULTS_PATH = `${RESULTS_DIR}cluster.json`;
const ENGINES = ["pocketsphinx", "test"] as const;
type Engine = (typeof ENGINES)[number];
/** The test engine's default endpointing (packages/engines/src/testing/test-engine.ts), as `bench:load` asks for it. */
const TEST_ENDPOINTING_MS = 300;
/**
 * Each engine plays what its single-box capacity in docs/benchmarks.md was measured with, so the
 * one-node row compares: PocketSphinx the call-centre playlist (16 streams on one box), the test
 * engine the Load steps' files with 1 s after each (1,000 streams).
 */
const PLAYLISTS: Record<Engine, string> = { pocketsphinx: "callcentre", test: "steps" };
const FULL = {
  stairs: { pocketsphinx: "4,6,8,10,12,14,16,18,20,24,28,32", test: "500,750,1000,1250,1500,2000,2500,3000" },
  /** PocketSphinx streams finish a file about every 13 s: 20 s × 12 streams gives about 18 files per window. */
  seconds: { pocketsphinx: 20, test: 10 },
  warmup: 3,
};
const QUICK = { stairs: { pocketsphinx: "4", test: "100" }, seconds: { pocketsphinx: 5, test: 5 }, warmup: 1 };

const { values } = parseArgs({
  options: {
    engines: { type: "string", default: ENGINES.join(",") },
    nodes: { type: "string", default: "1,2,3" },
    "pocketsphinx-stairs": { type: "string" },
    "test-stairs": { type: "string" },
    "pocketsphinx-seconds": { type: "string" },
    "test-seconds": { type: "string" },
    warmup: { type: "string" },
    seed: { type: "string", default: "1" },
    "frame-ms": { type: "string", default: "100" },
    /** auto: one core per node while there are cores (see pinning.ts); none: every node on every core. */
    pin: { type: "string", default: "auto" },
    /** HAProxy's `maxconn` per server in the bench's copy of the config (the shipped one says 500). */
    "server-maxconn": { type: "string", default: "5000" },
    /** A further `earshot serve` flag for every node; repeatable, e.g. --serve-arg=--max-utilization=0.8. */
    "serve-arg": { type: "string", multiple: true },
    all: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    "render-only": { type: "boolean", default: false },
    out: { type: "string" },
    doc: { type: "string" },
  },
});

const quick = values.quick ?? false;
const preset = quick ? QUICK : FULL;
const list = (text: string, what: string) => {
  const numbers = text.split(",").map(Number);
  if (numbers.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${what}: positive integers, e.g. 1,2,3`);
  return numbers.sort((a, b) => a - b);
};
const engines = (values.engines ?? "").split(",").map((name) => {
  if (!(ENGINES as readonly string[]).includes(name)) throw new Error(`--engines: ${ENGINES.join(", ")}, not ${name}`);
  return name as Engine;
});
const nodeCounts = list(values.nodes ?? "1", "--nodes");
const stairs: Record<Engine, number[]> = {
  pocketsphinx: list(values["pocketsphinx-stairs"] ?? preset.stairs.pocketsphinx, "--pocketsphinx-stairs"),
  test: list(values["test-stairs"] ?? preset.stairs.test, "--test-stairs"),
};
const seconds: Record<Engine, number> = {
  pocketsphinx: Number(values["pocketsphinx-seconds"] ?? preset.seconds.pocketsphinx),
  test: Number(values["test-seconds"] ?? preset.seconds.test),
};
const warmupSeconds = Number(values.warmup ?? preset.warmup);
const seed = Number(values.seed);
const frameMs = Number(values["frame-ms"]);
const serverMaxconn = Number(values["server-maxconn"]);
if (!["auto", "none"].includes(values.pin ?? "")) throw new Error(`--pin must be auto or none, not ${values.pin}`);
const pin = values.pin === "auto";
if (!(FRAME_SIZES_MS as readonly number[]).includes(frameMs))
  throw new Error(`--frame-ms must be one of ${FRAME_SIZES_MS.join(", ")}`);
if (!(seconds.pocketsphinx > 0 && seconds.test > 0 && warmupSeconds >= 0) || !Number.isInteger(seed))
  throw new Error("bad --*-seconds/--warmup/--seed");
if (!(Number.isInteger(serverMaxconn) && serverMaxconn > 0)) throw new Error("--server-maxconn: a positive integer");

const log = (line: string) => process.stdout.write(`${line}\n`);
const loads = (values: readonly number[]) => values.map((v) => v.toFixed(2)).join(" / ");

function playlistFor(engine: Engine, clips: readonly Clip[]): (k: number) => Playlist {
  return (k) => {
    const random = mulberry32(seed * 100_003 + k);
    return PLAYLISTS[engine] === "callcentre"
      ? callCentrePlaylist(clips, random)
      : shuffledPlaylist(clips, random, 1000);
  };
}

async function measureSize(engine: Engine, nodes: number, clips: readonly Clip[]): Promise<ClusterSize> {
  const pins = pinPlan(nodes, availableParallelism(), pin);
  const loadBefore = loadavg();
  log(`${engine}, ${nodes} node${nodes > 1 ? "s" : ""} (${describePins(pins)}); load ${loads(loadBefore)}`);
  const cluster = await startCluster({
    engine,
    streams: Math.max(...stairs[engine]),
    pins,
    serverMaxconn,
    serveArgs: values["serve-arg"] ?? [],
  });
  let results: Awaited<ReturnType<typeof climbStairs>>;
  try {
    results = await climbStairs(cluster, {
      engine,
      stairs: stairs[engine],
      warmupSeconds,
      seconds: seconds[engine],
      frameMs,
      endpointingMs: engine === "test" ? TEST_ENDPOINTING_MS : undefined,
      playlistFor: playlistFor(engine, clips),
      all: values.all ?? false,
      log,
    });
  } finally {
    await cluster.stop();
  }
  const capacity = clusterCapacity(engine, results);
  const loadAfter = loadavg();
  log(`  capacity ${capacity} streams; load ${loads(loadAfter)}`);
  return { nodes, pins, stairs: results, capacity, loadBefore, loadAfter };
}

/** "HAProxy 2.6.12-1+deb12u4", "Redis 7.0.15": the first version-like word of the program's banner. */
function version(name: string, command: string, args: readonly string[]): string {
  try {
    const banner = execFileSync(command, args, { encoding: "utf8" });
    return `${name} ${/(?:version |v=)(\S+)/.exec(banner)?.[1] ?? "unknown"}`;
  } catch {
    return `${name} not installed`;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = describeMachine(`npm run bench:cluster -- ${process.argv.slice(2).join(" ")}`.trim());
  log(
    `bench:cluster${quick ? " --quick" : ""}: ${engines.join(", ")} × ${nodeCounts.join(", ")} nodes; ` +
      `${machine.logicalCores} cores; load ${loads(machine.loadAtStart)}`,
  );
  const clips = loadClips();
  const runs: EngineRun[] = [];
  for (const engine of engines) {
    const sizes: ClusterSize[] = [];
    for (const nodes of nodeCounts) sizes.push(await measureSize(engine, nodes, clips));
    runs.push({ engine, playlist: PLAYLISTS[engine], sizes });
  }
  const run: ClusterRun = {
    machine,
    loadAtEnd: loadavg(),
    minutes: (performance.now() - started) / 60_000,
    quick,
    options: { seconds, warmupSeconds, seed, frameMs, pin, serveArgs: values["serve-arg"] ?? [] },
    haproxy: {
      ...haproxyLimitsFor(serverMaxconn),
      shippedServerMaxconn: shippedServerMaxconn(readFileSync(SHIPPED_HAPROXY_CFG, "utf8")),
      version: version("HAProxy", "haproxy", ["-v"]),
    },
    redisVersion: version("Redis", "redis-server", ["--version"]),
    engines: runs,
  };
  for (const engine of runs) {
    log(
      `${engine.engine}: capacity ${engine.sizes.map((s) => `${s.nodes} node${s.nodes > 1 ? "s" : ""} ${s.capacity}`).join(", ")}`,
    );
  }
  log(`${run.minutes.toFixed(1)} min; load ${loads(run.loadAtEnd)}`);
  // A quick run is a smoke check: it writes only where it is told to.
  const out = values.out ?? (quick ? undefined : RESULTS_PATH);
  if (out !== undefined) {
    saveJson(out, run);
    log(`wrote ${out}`);
  }
  const doc = values.doc ?? (quick ? "none" : BENCHMARKS_MD);
  if (doc !== "none") render(run, doc);
}

function render(run: ClusterRun, doc: string): void {
  replaceSection(doc, SECTION_NAME, renderClusterSection(run));
  log(`wrote the Cluster section of ${doc}`);
}

function entry(): Promise<void> {
  if (values["render-only"]) {
    const run = loadJson<ClusterRun>(values.out ?? RESULTS_PATH);
    if (!run) throw new Error(`no saved results at ${values.out ?? RESULTS_PATH}: run the bench first`);
    render(run, values.doc ?? BENCHMARKS_MD);
    return Promise.resolve();
  }
  return main();
}

entry().catch((error: unknown) => {
  process.stderr.write(
    `bench:cluster failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
