/**
 * The server under test as its own process (`earshot serve --port 0`), so its CPU and memory can be
 * read from /proc apart from the load generator's. Each API key may hold a limited number of
 * connections (64 by default), so the server gets one key per `STREAMS_PER_KEY` streams.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** The repository whose build serves by default: this one. */
export const OWN_REPO = new URL("../../../", import.meta.url).pathname;
const BIN_IN_REPO = "packages/cli/bin/earshot.js";
const READY = /earshot ready on http:\/\/127\.0\.0\.1:(\d+)/;
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
/** Below the server's default of 64 connections per key, with room for a reconnect. */
export const STREAMS_PER_KEY = 50;

export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  /** http://127.0.0.1:<port>, for /readyz and /metrics. */
  readonly httpUrl: string;
  readonly keys: readonly string[];
  /** The last lines the server wrote to stderr (warnings and errors), for the report. */
  readonly stderrTail: () => readonly string[];
  /** Set once the process has exited on its own (a crash, from the bench's point of view). */
  readonly exited: () => string | undefined;
  stop(): Promise<void>;
}

/**
 * `serveArgs`: further `earshot serve` flags, e.g. `["--endpointing-ms", "200"]`; `nodeArgs`: flags
 * for node itself, e.g. `["--cpu-prof", "--cpu-prof-dir=/tmp/prof"]`; `repo`: the checkout whose build
 * serves (another git worktree, to measure an older server with this bench); `cpus`: a CPU list for
 * `taskset -c` (e.g. "1") that pins the server and every process it starts to those cores.
 */
export async function startServer(
  engine: string,
  streams: number,
  serveArgs: readonly string[] = [],
  nodeArgs: readonly string[] = [],
  repo: string = OWN_REPO,
  cpus?: string,
): Promise<ServerProcess> {
  const keys = Array.from({ length: Math.max(1, Math.ceil(streams / STREAMS_PER_KEY)) }, (_, i) => `load-key-${i}`);
  const args = [
    ...nodeArgs,
    join(repo, BIN_IN_REPO),
    "serve",
    "--engine",
    engine,
    "--port",
    "0",
    "--log-level",
    "warn",
  ];
  for (const key of keys) args.push("--api-key", key);
  args.push(...serveArgs);
  // taskset execs node in its own process, so the pid is still the server's.
  const [command, commandArgs] =
    cpus === undefined ? [process.execPath, args] : ["taskset", ["-c", cpus, process.execPath, ...args]];
  const child = spawn(command, commandArgs, {
    env: { ...process.env, EARSHOT_API_KEYS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let stdout = "";
  const tail: string[] = [];
  let exitedWith: string | undefined;
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line.trim()) tail.push(line.slice(0, 300));
    tail.splice(0, Math.max(0, tail.length - 20));
  });
  child.once("exit", (code, signal) => {
    exitedWith = `exited with ${signal ?? code}`;
    process.off("exit", killOnExit);
  });

  const port = await waitForReady(child, () => stdout);
  return {
    pid: child.pid ?? 0,
    url: `ws://127.0.0.1:${port}/v1/audio/transcriptions/stream`,
    httpUrl: `http://127.0.0.1:${port}`,
    keys,
    stderrTail: () => [...tail],
    exited: () => exitedWith,
    stop: () => stopChild(child),
  };
}

async function waitForReady(child: ChildProcess, stdout: () => string): Promise<number> {
  for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline; ) {
    const ready = READY.exec(stdout());
    if (ready) return Number(ready[1]);
    if (child.exitCode !== null || child.signalCode !== null) break;
    await sleep(50);
  }
  child.kill("SIGKILL");
  throw new Error(`earshot serve did not become ready: ${stdout()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `/readyz` until it answers 200 (the engine loaded, room for streams). */
export async function waitForReadyz(server: ServerProcess, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const status = await fetch(`${server.httpUrl}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error(`/readyz did not answer 200 within ${timeoutMs} ms`);
}

/**
 * The value of one sample of the server's /metrics (Prometheus text), e.g.
 * `earshot_decoders_created_total{when="connect"}`; undefined when the server has no such metric.
 */
export async function scrapeMetric(server: ServerProcess, sample: string): Promise<number | undefined> {
  const response = await fetch(`${server.httpUrl}/metrics`).catch(() => undefined);
  if (!response?.ok) return undefined;
  return metricValue(await response.text(), sample);
}

/** A sample's value in Prometheus text exposition; undefined when absent. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(sample) && line.charAt(sample.length) === " ") return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
