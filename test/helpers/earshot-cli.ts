/** The `earshot` command as real child processes: a server on a free port, and one-shot commands. */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";

export const EARSHOT_BIN = new URL("../../../packages/cli/bin/earshot.js", import.meta.url).pathname;

export interface Served {
  readonly process: ChildProcess;
  /** ws://127.0.0.1:<port> */
  readonly url: string;
  stop(): Promise<void>;
}

/** `earshot serve --port 0 <args>` with API key `key`; resolves at its ready line. */
export async function serveEarshot(args: readonly string[], key: string): Promise<Served> {
  const child = spawn(process.execPath, [EARSHOT_BIN, "serve", "--port", "0", ...args], {
    env: { ...process.env, EARSHOT_API_KEYS: key, EARSHOT_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.resume();
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (/earshot ready on http/.test(stdout)) break;
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stdout}`);
    if (Date.now() > deadline) throw new Error(`serve not ready: ${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    process: child,
    url: `ws${/earshot ready on http(:\/\/\S+)/.exec(stdout)?.[1]}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** Runs `earshot <args>` to completion; `env` is added to (or, for PATH/HOME, replaces) the test's. */
export function runEarshot(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [EARSHOT_BIN, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr, elapsedMs: performance.now() - started });
      },
    );
  });
}
