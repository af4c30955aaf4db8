/**
 * A real `haproxy` (Debian package) for a test, running a copy of the shipped `deploy/haproxy.cfg`:
 * the same settings, with the frontend bound to a free loopback port, the backend's servers
 * replaced by the test's nodes, the stats socket in a temp dir, the process-level lines a test
 * cannot use (chroot, user, group) left out, and the global `maxconn` lowered (HAProxy raises its
 * file limit to twice it at start, above what a test process may have). Waits until every server passed its health check.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { haproxyCommand } from "@earshot/test-support";
import { freePort, waitForPort } from "./free-port.js";

export const SHIPPED_HAPROXY_CFG = new URL("../../../deploy/haproxy.cfg", import.meta.url).pathname;

export interface HaproxyProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The stats socket's path (runtime API, level admin). */
  readonly socket: string;
  /** Sends one command to the runtime API; resolves with its answer. */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

/** The shipped config, for `nodes` (`127.0.0.1:port` each), the frontend on `port`, the socket at `socket`. */
export function testConfig(nodes: readonly string[], port: number, socket: string): string {
  const out: string[] = [];
  for (const line of readFileSync(SHIPPED_HAPROXY_CFG, "utf8").split("\n")) {
    const trimmed = line.trim();
    if (/^(chroot|user|group)\s/.test(trimmed)) continue;
    if (/^server\s/.test(trimmed)) continue;
    if (/^maxconn\s/.test(trimmed)) {
      out.push("    maxconn 1000");
      continue;
    }
    if (/^bind\s/.test(trimmed)) {
      out.push(`    bind 127.0.0.1:${port}`);
      continue;
    }
    if (/^stats socket\s/.test(trimmed)) {
      out.push(`    stats socket ${socket} mode 600 level admin`);
      continue;
    }
    out.push(line);
    if (/^default-server\s/.test(trimmed)) {
      nodes.forEach((address, index) => {
        out.push(`    server node${index + 1} ${address} check`);
      });
    }
  }
  return out.join("\n");
}

export async function startHaproxy(nodes: readonly string[]): Promise<HaproxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), "earshot-haproxy-"));
  const port = await freePort();
  const socket = join(dir, "admin.sock");
  const config = join(dir, "haproxy.cfg");
  writeFileSync(config, testConfig(nodes, port, socket));
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", config], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const command = (line: string): Promise<string> => haproxyCommand(socket, line);
  try {
    await waitForPort(port);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}: ${output}`);
      const states = await command("show servers state earshot_nodes").catch(() => "");
      // Field 6 of each server line is its operational state: 2 = up.
      const up = states
        .split("\n")
        .filter((row) => /^\d+ earshot_nodes /.test(row))
        .filter((row) => row.split(" ")[5] === "2").length;
      if (up === nodes.length) break;
      if (Date.now() > deadline) throw new Error(`haproxy servers not up: ${states}\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    socket,
    command,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
