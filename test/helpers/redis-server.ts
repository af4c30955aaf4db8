/**
 * A real `redis-server` (Debian package) for a test: loopback only, a free port, no persistence
 * (`--save ''`, `--appendonly no`), its working directory a temp dir. `stop()` kills it (SIGKILL:
 * an outage, as a crash would be); `restart()` starts a fresh, empty one on the same port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";

export interface RedisProcess {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** A client for the test's own reads (closed by `stop`). */
  readonly client: Redis;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops it for good and removes its temp dir. */
  dispose(): Promise<void>;
}

export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "earshot-redis-"));
  let child = await launch(port, dir);
  const client = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  await client.connect();
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    stop,
    async restart() {
      await stop();
      child = await launch(port, dir);
    },
    async dispose() {
      client.disconnect();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts redis-server and resolves once it answers PING. */
async function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr?.resume();
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (/Ready to accept connections/.test(output)) return child;
    if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) throw new Error(`redis-server not ready: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
