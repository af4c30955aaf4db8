/**
 * The cluster under test, all real processes on loopback: one `redis-server` (Debian package, no
 * persistence), N `earshot serve --redis` nodes (each pinned per `pinPlan`), and one `haproxy`
 * (Debian package) running the bench's copy of `deploy/haproxy.cfg` in front of them. The bench
 * imports no test, so these starters are its own (the tests' are in test/helpers/).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { haproxyCommand } from "@earshot/test-support";
import { type ServerProcess, sleep, startServer, waitForReadyz } from "../load/server-process.js";
import { benchHaproxyConfig, type HaproxyLimits, maxconnForFileLimit } from "./haproxy-config.js";
import type { CpuList } from "./pinning.js";

export const SHIPPED_HAPROXY_CFG = new URL("../../../deploy/haproxy.cfg", import.meta.url).pathname;
const READY_TIMEOUT_MS = 30_000;

/** A helper process of the cluster (Redis, HAProxy): its pid for /proc, and how to stop it. */
export interface HelperProcess {
  readonly pid: number;
  stop(): Promise<void>;
}

export interface Cluster {
  /** The streaming URL through HAProxy. */
  readonly url: string;
  readonly keys: readonly string[];
  readonly nodes: readonly ServerProcess[];
  readonly haproxy: HelperProcess;
  readonly redis: HelperProcess;
  readonly haproxyLimits: HaproxyLimits;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly engine: string;
  /** The most streams the run will open: every node gets the same keys, one per 50 streams. */
  readonly streams: number;
  /** One entry per node: its CPU list, or undefined for every core. */
  readonly pins: readonly CpuList[];
  readonly serverMaxconn: number;
  readonly serveArgs: readonly string[];
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const redis = await startRedis();
    started.push(redis);
    const nodes = await Promise.all(
      options.pins.map((cpus, i) =>
        startServer(
          options.engine,
          options.streams,
          ["--redis", redis.url, "--node-id", `node${i + 1}`, ...options.serveArgs],
          [],
          undefined,
          cpus,
        ),
      ),
    );
    started.push(...nodes);
    // /readyz answers 200 once a node's engine is loaded (PocketSphinx: its warm decoders made).
    await Promise.all(nodes.map((node) => waitForReadyz(node)));
    const haproxyLimits = haproxyLimitsFor(options.serverMaxconn);
    const haproxy = await startHaproxy(
      nodes.map((node) => node.httpUrl.replace("http://", "")),
      haproxyLimits,
    );
    started.push(haproxy);
    return {
      url: `ws://127.0.0.1:${haproxy.port}/v1/audio/transcriptions/stream`,
      keys: nodes[0]?.keys ?? [],
      nodes,
      haproxy,
      redis,
      haproxyLimits,
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

async function stopAll(processes: readonly { stop(): Promise<void> }[]): Promise<void> {
  await Promise.all([...processes].reverse().map((p) => p.stop().catch(() => {})));
}

/** HAProxy's limits in the bench: the global one from this process's file limit, `serverMaxconn` per node. */
export function haproxyLimitsFor(serverMaxconn: number): HaproxyLimits {
  return { globalMaxconn: maxconnForFileLimit(fileLimit()), serverMaxconn };
}

/** This process's open-file limit (`ulimit -n`), which HAProxy, started by it, inherits. */
function fileLimit(): number {
  try {
    return Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim()) || 1024;
  } catch {
    return 1024;
  }
}

/** A free loopback port (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

function track(child: ChildProcess): { output: () => string; stop: () => Promise<void> } {
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk).slice(-4000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return {
    output: () => output,
    async stop() {
      process.off("exit", killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
  };
}

async function startRedis(): Promise<HelperProcess & { url: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "earshot-bench-redis-"));
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const tracked = track(child);
  const stop = async () => {
    await tracked.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + READY_TIMEOUT_MS; !/Ready to accept connections/.test(tracked.output()); ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start: ${tracked.output()}`);
    }
    await sleep(25);
  }
  return { pid: child.pid ?? 0, url: `redis://127.0.0.1:${port}`, stop };
}

/** HAProxy in front of `nodes` (`host:port` each); resolves once every node passed its health check. */
async function startHaproxy(
  nodes: readonly string[],
  limits: HaproxyLimits,
): Promise<HelperProcess & { port: number }> {
  const dir = mkdtempSync(join(tmpdir(), "earshot-bench-haproxy-"));
  const port = await freePort();
  const socket = join(dir, "admin.sock");
  const config = join(dir, "haproxy.cfg");
  writeFileSync(config, benchHaproxyConfig(readFileSync(SHIPPED_HAPROXY_CFG, "utf8"), nodes, port, socket, limits));
  // Its access log (one line per stream, on stdout) goes nowhere: the bench reads no log line.
  const child = spawn("haproxy", ["-db", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  const tracked = track(child);
  const stop = async () => {
    await tracked.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + READY_TIMEOUT_MS; ; ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not bring its servers up: ${tracked.output()}`);
    }
    const states = await haproxyCommand(socket, "show servers state earshot_nodes").catch(() => "");
    // Field 6 of each server line is its operational state: 2 = up.
    const up = states.split("\n").filter((row) => /^\d+ earshot_nodes /.test(row) && row.split(" ")[5] === "2");
    if (up.length === nodes.length) break;
    await sleep(100);
  }
  return { pid: child.pid ?? 0, port, stop };
}
