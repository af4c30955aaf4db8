/**
 * A cluster as issue 18's proofs run it, all real processes on loopback: a `redis-server`, N
 * `earshot serve --redis` nodes (`node1`…, each node's id is also its HAProxy server name) and
 * HAProxy in front, running a copy of the shipped `deploy/haproxy.cfg`. The fleet is also the node
 * supervisor: it kills a node (`kill -9`), stops it (SIGTERM: whatever the server does on it),
 * starts it again on the same port (HAProxy's server line names the port), and drains or readies
 * it on HAProxy's runtime API. Which node holds a session is read from Redis (the session record
 * names its node) and each node's load from its `/metrics`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { type HaproxyProcess, startHaproxy } from "./haproxy.js";
import { waitUntil } from "./http-probe.js";
import { sample, scrape } from "./prometheus.js";
import { type RedisProcess, startRedis } from "./redis-server.js";
import { kill9, type ServeProcess, serveEngine } from "./serve-process.js";

export interface FleetOptions {
  readonly engine: "pocketsphinx" | "test";
  /** Keys every node accepts (a cluster's nodes must share them); the first is the fleet's own. */
  readonly apiKeys: readonly [string, ...string[]];
  /** Default 3. */
  readonly nodes?: number;
  /** More `earshot serve` arguments for every node. */
  readonly args?: readonly string[];
  /** `--node-lease-ms` (default 1500: a dead node stops counting soon). */
  readonly leaseMs?: number;
  /**
   * Start a node again on its port whenever it exits on its own (not by `kill`, `terminate` or
   * `stop`), as systemd's `Restart=always` or Kubernetes would: for tools that drain a node and
   * wait for its supervisor to bring it back (a rolling-restart script). Default off.
   */
  readonly restartOnExit?: boolean;
}

/** HAProxy's administrative states for a server (`set server … state`). */
export type HaproxyState = "ready" | "drain" | "maint";

export interface FleetNode {
  /** `node1`…: the node id (logs, metrics, Redis) and its HAProxy server name. */
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** The running process, or undefined while the node is down. */
  readonly served: ServeProcess | undefined;
}

const secretDigest = (secret: string): string => createHash("sha256").update(secret).digest("hex").slice(0, 32);

interface NodeEntry {
  readonly port: number;
  served: ServeProcess | undefined;
  /** Times the node was started again after exiting on its own (`restartOnExit`). */
  restartsOnExit: number;
}

export class ClusterFleet {
  readonly redis: RedisProcess;
  readonly haproxy: HaproxyProcess;
  readonly #options: FleetOptions;
  /** By name, in name order (`node1`, `node2`, …). */
  readonly #nodes: Map<string, NodeEntry>;
  #stopping = false;

  private constructor(
    options: FleetOptions,
    redis: RedisProcess,
    haproxy: HaproxyProcess,
    nodes: Map<string, NodeEntry>,
  ) {
    this.#options = options;
    this.redis = redis;
    this.haproxy = haproxy;
    this.#nodes = nodes;
  }

  /** Starts Redis, the nodes (ready: `/readyz` 200) and HAProxy (every node up in it). */
  static async start(options: FleetOptions): Promise<ClusterFleet> {
    const redis = await startRedis();
    const names = Array.from({ length: options.nodes ?? 3 }, (_, i) => `node${i + 1}`);
    const nodes = new Map<string, NodeEntry>();
    try {
      // Each records itself once up, so a failure stops every node that started.
      const started = await Promise.all(
        names.map(async (name) => {
          const served = await launch(options, redis, name, 0);
          nodes.set(name, { port: served.port, served, restartsOnExit: 0 });
          return served;
        }),
      );
      const haproxy = await startHaproxy(started.map((served) => `127.0.0.1:${served.port}`));
      const inOrder = new Map<string, NodeEntry>();
      for (const name of names) {
        const node = nodes.get(name);
        assert.ok(node);
        inOrder.set(name, node);
      }
      const fleet = new ClusterFleet(options, redis, haproxy, inOrder);
      for (const name of names) fleet.#superviseExit(name);
      await fleet.waitForClusterView(names.length);
      return fleet;
    } catch (error) {
      for (const node of nodes.values()) if (node.served) await kill9(node.served);
      await redis.dispose();
      throw error;
    }
  }

  /** HAProxy's frontend: where clients connect. */
  get url(): string {
    return this.haproxy.url;
  }

  get names(): string[] {
    return [...this.#nodes.keys()];
  }

  node(name: string): FleetNode {
    const node = this.#entry(name);
    return { name, port: node.port, url: `http://127.0.0.1:${node.port}`, served: node.served };
  }

  /** Times node `name` exited on its own and was started again (`restartOnExit`). */
  restartsOnExit(name: string): number {
    return this.#entry(name).restartsOnExit;
  }

  /** `kill -9`: no goodbye, no flushed finals; HAProxy finds out by itself (failed connects, checks). */
  async kill(name: string): Promise<void> {
    const node = this.#entry(name);
    const served = node.served;
    node.served = undefined;
    if (served) await kill9(served);
  }

  /** SIGTERM, then waits for the process to exit (bounded by `timeoutMs`, then SIGKILL); its exit code. */
  async terminate(name: string, timeoutMs = 30_000): Promise<number | null> {
    const node = this.#entry(name);
    const child = node.served?.process;
    node.served = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const [code] = await exited;
    clearTimeout(timer);
    return code as number | null;
  }

  /**
   * Starts a stopped node again on its port, sets it `ready` on HAProxy (it may have been drained)
   * and waits until HAProxy has it up (its health checks passed: up to `rise × inter` = 4 s after a
   * node HAProxy had marked down).
   */
  async restart(name: string): Promise<void> {
    const node = this.#entry(name);
    assert.equal(node.served, undefined, `${name} still runs`);
    node.served = await launch(this.#options, this.redis, name, node.port);
    this.#superviseExit(name);
    await this.setState(name, "ready");
    await this.waitUntilUp(name);
  }

  /** `set server earshot_nodes/<name> state <state>` on HAProxy's runtime API. */
  async setState(name: string, state: HaproxyState): Promise<void> {
    const answer = await this.haproxy.command(`set server earshot_nodes/${name} state ${state}`);
    assert.equal(answer.trim(), "", `set server ${name} state ${state}: ${answer}`);
  }

  /** Whether HAProxy sends new connections to the node: operationally up and administratively ready. */
  async isUp(name: string): Promise<boolean> {
    const states = await this.haproxy.command("show servers state earshot_nodes");
    // Fields: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state …; 2 = up, 0 = ready.
    const row = states
      .split("\n")
      .map((line) => line.split(" "))
      .find((fields) => fields[1] === "earshot_nodes" && fields[3] === name);
    return row?.[5] === "2" && row[6] === "0";
  }

  async waitUntilUp(name: string, timeoutMs = 30_000): Promise<void> {
    await waitUntil(() => this.isUp(name), `HAProxy has ${name} up`, timeoutMs);
  }

  /** The node that holds the session of `resumeToken`, as its record in Redis says (undefined: no record). */
  async holder(resumeToken: string): Promise<string | undefined> {
    const node = await this.redis.client.hget(`earshot:session:${secretDigest(resumeToken)}`, "node");
    return node ?? undefined;
  }

  /** `earshot_active_streams` of a running node. */
  async activeStreams(name: string): Promise<number> {
    return sample(await scrape(this.node(name).url), "earshot_active_streams");
  }

  /** Waits until every running node sees `count` nodes in Redis (its heartbeats and theirs). */
  async waitForClusterView(count: number, timeoutMs = 15_000): Promise<void> {
    for (const name of this.names) {
      const { served, url } = this.node(name);
      if (!served) continue;
      await waitUntil(
        async () => sample(await scrape(url), "earshot_cluster_nodes") === count,
        `${name} sees ${count} nodes`,
        timeoutMs,
      );
    }
  }

  /** Stops everything (SIGKILL) and removes the temp dirs. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.haproxy.stop();
    for (const name of this.names) await this.kill(name);
    await this.redis.dispose();
  }

  #entry(name: string): NodeEntry {
    const node = this.#nodes.get(name);
    assert.ok(node, `no node ${name}`);
    return node;
  }

  /**
   * With `restartOnExit`: when the node's current process exits while the fleet still counts it as
   * running (`kill` and `terminate` forget it first), starts it again on its port.
   */
  #superviseExit(name: string): void {
    const node = this.#entry(name);
    const served = node.served;
    if (!this.#options.restartOnExit || !served) return;
    served.process.once("exit", () => {
      if (this.#stopping || node.served !== served) return;
      node.served = undefined;
      launch(this.#options, this.redis, name, node.port)
        .then((next) => {
          if (this.#stopping) {
            next.process.kill("SIGKILL");
            return;
          }
          node.served = next;
          node.restartsOnExit += 1;
          this.#superviseExit(name);
        })
        .catch((error: unknown) => {
          // A start cut short by stop() is no failure; any other fails the test run.
          if (!this.#stopping) throw error;
        });
    });
  }
}

/** One `earshot serve --redis` node on `port` (0: a free one), once `/readyz` answers 200. */
async function launch(options: FleetOptions, redis: RedisProcess, name: string, port: number): Promise<ServeProcess> {
  const [key, ...otherKeys] = options.apiKeys;
  const served = await serveEngine(options.engine, port, key, {
    args: [
      ...otherKeys.flatMap((other) => ["--api-key", other]),
      "--redis",
      redis.url,
      "--node-id",
      name,
      "--node-lease-ms",
      String(options.leaseMs ?? 1500),
      "--no-demo",
      ...(options.args ?? []),
    ],
    env: { EARSHOT_LOG_LEVEL: "info" },
  });
  await waitUntil(async () => (await fetch(`${served.url}/readyz`)).ok, `${name} ready`, 30_000);
  return served;
}
