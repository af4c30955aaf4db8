/**
 * `earshot drain`: drains one node (its admin call, `POST /v1/admin/drain`), as the Kubernetes
 * `preStop` hook does (deploy/k8s/deployment.yaml); with `--wait`, for scripts, it returns once the
 * node exited.
 */
import { parseArgs } from "node:util";
import { CliError } from "../cli-error.js";
import { readiness, sleep, startDrain } from "../node-admin.js";

const HELP = `usage: earshot drain [--url http://127.0.0.1:8787] [--admin-key KEY] [--wait] [--timeout-ms N]

  Drains the node: /readyz turns 503, new streams are refused, each stream moves to another node
  at its next utterance end, and the node exits (its supervisor starts it again).

  --url          the node (default http://127.0.0.1:8787)
  --admin-key    its admin key (also EARSHOT_ADMIN_KEY)
  --wait         return once the node stopped answering (exited), or a new process is ready there
  --timeout-ms   give up waiting after this (default 120000): exit 1`;

export async function drain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: "string", default: "http://127.0.0.1:8787" },
      "admin-key": { type: "string" },
      wait: { type: "boolean", default: false },
      "timeout-ms": { type: "string", default: "120000" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const adminKey = values["admin-key"] ?? process.env.EARSHOT_ADMIN_KEY;
  if (!adminKey) throw new CliError("no admin key: --admin-key or EARSHOT_ADMIN_KEY");
  const timeoutMs = Number(values["timeout-ms"]);
  if (!(timeoutMs > 0)) throw new CliError(`invalid --timeout-ms "${values["timeout-ms"]}"`);
  const url = values.url.replace(/\/+$/, "");
  const started = await startDrain(url, adminKey);
  process.stdout.write(`earshot: ${url} is draining (${started.sessions} sessions)\n`);
  if (!values.wait) return 0;
  if (await drainedAway(url, timeoutMs)) {
    process.stdout.write(`earshot: ${url} drained\n`);
    return 0;
  }
  throw new CliError(`${url} still draining after ${timeoutMs} ms`, { exitCode: 1 });
}

/** Whether, within `timeoutMs`, the draining node stopped answering or a new one became ready there. */
export async function drainedAway(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ready = await readiness(url);
    // A draining node never answers 200 again: a 200 is a new process.
    if (!ready.up || ready.status === 200) return true;
    await sleep(200);
  }
  return false;
}
