/** `earshot serve` as a real child process (the CLI's bin), for tests that crash or restart it. */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

const BIN = new URL("../../../packages/cli/bin/earshot.js", import.meta.url).pathname;

export interface ServeProcess {
  readonly process: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** What it wrote to stderr so far (its JSON log lines). */
  stderr(): string;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every server process still running (call it from `after`). */
export function killAllServers(): void {
  for (const child of children) child.kill("SIGKILL");
}

/** `earshot serve --engine test` on 127.0.0.1:`port` (0: a free one); resolves once it is ready. */
export function serveTestEngine(port: number, apiKey: string): Promise<ServeProcess> {
  return serveEngine("test", port, apiKey);
}

export interface ServeOptions {
  /** More `earshot serve` arguments. */
  readonly args?: readonly string[];
  /** More environment variables. */
  readonly env?: NodeJS.ProcessEnv;
}

/** `earshot serve --engine <engine>` on 127.0.0.1:`port` (0: a free one); resolves once it is ready. */
export async function serveEngine(
  engine: string,
  port: number,
  apiKey: string,
  options: ServeOptions = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "serve",
      "--engine",
      engine,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--api-key",
      apiKey,
      ...(options.args ?? []),
    ],
    { env: { ...process.env, EARSHOT_LOG_LEVEL: "warn", ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  child.once("exit", () => children.delete(child));
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = /earshot ready on (http:\/\/127\.0\.0\.1:(\d+))/.exec(stdout);
    if (ready) return { process: child, port: Number(ready[2]), url: ready[1] ?? "", stderr: () => stderr };
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stdout}`);
    if (Date.now() > deadline) throw new Error(`serve not ready: ${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function kill9(served: ServeProcess): Promise<void> {
  if (served.process.exitCode !== null || served.process.signalCode !== null) return;
  const exited = once(served.process, "exit");
  served.process.kill("SIGKILL");
  const [code, signal] = await exited;
  assert.equal(signal, "SIGKILL", `exit ${code}`);
}
