/**
 * `earshot rolling-restart`: restarts a cluster's nodes one at a time under load, losing no word
 * (docs/operations.md, "Rolling restart"). For each node: HAProxy stops sending it new streams
 * (`set server <backend>/<name> state drain` on the runtime API), the node drains (its admin call,
 * or a command), its streams move to the other nodes at their next utterance end, it exits, its
 * supervisor starts it again (or `--restart-command` does), and once `/readyz` answers 200 HAProxy
 * takes it back (`state ready`) and waits for its health checks before the next node.
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { CliError } from "../cli-error.js";
import { HaproxyRuntime } from "../haproxy-runtime.js";
import { readiness, sleep, startDrain } from "../node-admin.js";

const HELP = `usage: earshot rolling-restart --node NAME=URL [--node NAME=URL ...] [options]

  --node              a node: its HAProxy server name and its URL (http://10.0.0.11:8787);
                      repeatable, restarted in the order given
  --admin-key         the nodes' admin key, for their drain (also EARSHOT_ADMIN_KEY)
  --haproxy-socket    HAProxy's stats socket (level admin): the node is set to drain there before
                      its own drain, and to ready once it is back. Without it HAProxy is left alone
                      (its /readyz health checks still see the drain)
  --backend           HAProxy's backend of the nodes (default earshot_nodes)
  --drain-command     drain by running this instead of the admin call (sh -c), e.g.
                      "systemctl kill -s TERM earshot@{name}"
  --restart-command   run this (sh -c, detached) once the node has exited, for setups where nothing
                      else starts it again, e.g. "systemctl start earshot@{name}"
  --node-timeout-ms   a node must be drained and back within this (default 180000), else exit 1

  Templates take {name}, {url}, {host} and {port}.`;

interface Node {
  readonly name: string;
  readonly url: string;
}

export async function rollingRestart(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      node: { type: "string", multiple: true },
      "admin-key": { type: "string" },
      "haproxy-socket": { type: "string" },
      backend: { type: "string", default: "earshot_nodes" },
      "drain-command": { type: "string" },
      "restart-command": { type: "string" },
      "node-timeout-ms": { type: "string", default: "180000" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const nodes = (values.node ?? []).map(parseNode);
  if (nodes.length === 0) throw new CliError("no --node NAME=URL");
  const adminKey = values["admin-key"] ?? process.env.EARSHOT_ADMIN_KEY;
  const drainCommand = values["drain-command"];
  if (!adminKey && drainCommand === undefined) throw new CliError("no admin key (--admin-key) and no --drain-command");
  const timeoutMs = Number(values["node-timeout-ms"]);
  if (!(timeoutMs > 0)) throw new CliError(`invalid --node-timeout-ms "${values["node-timeout-ms"]}"`);
  const socket = values["haproxy-socket"];
  const haproxy = socket === undefined ? undefined : new HaproxyRuntime(socket);
  const backend = values.backend;
  // Every node serving before the first is taken out (a full node serves: its streams must move too).
  for (const node of nodes) {
    const ready = await readiness(node.url);
    const serving = ready.up && (ready.status === 200 || ready.state === "at_capacity");
    if (!serving) {
      const state = ready.up ? ready.state : "not answering";
      throw new CliError(`${node.name} (${node.url}) is not serving (${state}): stopping`, { exitCode: 1 });
    }
  }
  for (const node of nodes) {
    const deadline = performance.now() + timeoutMs;
    log(`${node.name}: draining`);
    await haproxy?.setState(backend, node.name, "drain");
    if (drainCommand === undefined) await startDrain(node.url, adminKey as string);
    else await run(fill(drainCommand, node), false);
    await untilBack(node, deadline, values["restart-command"]);
    log(`${node.name}: back`);
    if (haproxy) {
      await haproxy.setState(backend, node.name, "ready");
      await until(deadline, () => haproxy.isUp(backend, node.name), `${node.name} up in HAProxy`);
    }
    log(`${node.name}: serving`);
  }
  log(`restarted ${nodes.length} nodes`);
  return 0;
}

/** Waits until the drained node exited (then runs the restart command, if any) and a new one is ready. */
async function untilBack(node: Node, deadline: number, restartCommand: string | undefined): Promise<void> {
  let exited = false;
  await until(
    deadline,
    async () => {
      const ready = await readiness(node.url);
      if (!ready.up && !exited) {
        exited = true;
        log(`${node.name}: exited`);
        if (restartCommand !== undefined) await run(fill(restartCommand, node), true);
      }
      // A draining node never answers 200 again: a 200 is the new process.
      return ready.up && ready.status === 200;
    },
    `${node.name} drained and back`,
  );
}

async function until(deadline: number, check: () => Promise<boolean>, what: string): Promise<void> {
  while (!(await check())) {
    if (performance.now() > deadline) throw new CliError(`timed out waiting for ${what}`, { exitCode: 1 });
    await sleep(200);
  }
}

/** Runs `command` with sh; `detached`: started and left running (a server), else awaited (exit 0). */
function run(command: string, detached: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { stdio: detached ? "ignore" : "inherit", detached });
    child.once("error", reject);
    if (detached) {
      child.unref();
      resolve();
      return;
    }
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new CliError(`"${command}" exited ${code}`, { exitCode: 1 })),
    );
  });
}

function parseNode(value: string): Node {
  const match = /^([^=\s]+)=(https?:\/\/\S+)$/.exec(value);
  if (!match) throw new CliError(`invalid --node "${value}": NAME=http://host:port`);
  return { name: match[1] as string, url: (match[2] as string).replace(/\/+$/, "") };
}

function fill(template: string, node: Node): string {
  const { hostname, port } = new URL(node.url);
  return template
    .replaceAll("{name}", node.name)
    .replaceAll("{url}", node.url)
    .replaceAll("{host}", hostname)
    .replaceAll("{port}", port);
}

function log(line: string): void {
  process.stdout.write(`earshot rolling-restart: ${line}\n`);
}
