/**
 * A supervisor for `earshot serve` processes, as systemd (`Restart=always`), Kubernetes or compose
 * (`restart: unless-stopped`) are: a node that exits (a drained node does) is started again on its
 * port, with the same arguments, until `stop()`. For drain and rolling-restart tests
 * (`earshot rolling-restart` waits for the restarted node's `/readyz`).
 */
import { type ServeOptions, type ServeProcess, serveEngine } from "./serve-process.js";

export interface SupervisedNode {
  /** The engine (`--engine`). */
  readonly engine: string;
  readonly apiKey: string;
  /** `earshot serve` arguments beyond engine, host, port and key (e.g. `--redis`, `--node-id`, `--admin-key`). */
  readonly options?: ServeOptions;
}

export class NodeSupervisor {
  /** The current process of each node, by index. */
  readonly nodes: ServeProcess[] = [];
  /** How many times each node was started (1 until it exits and is started again). */
  readonly starts: number[] = [];
  #stopped = false;

  /** Starts node `index` (on a free port the first time), and again on that port whenever it exits. */
  async start(index: number, node: SupervisedNode, port = 0): Promise<ServeProcess> {
    const served = await serveEngine(node.engine, port, node.apiKey, node.options);
    this.nodes[index] = served;
    this.starts[index] = (this.starts[index] ?? 0) + 1;
    served.process.once("exit", () => {
      if (this.#stopped) return;
      // A start cut short by the test's end (stop(), then the processes killed) is no failure.
      this.start(index, node, served.port).catch((error: unknown) => {
        if (!this.#stopped) throw error;
      });
    });
    return served;
  }

  /** No more restarts (call it before killing the processes). */
  stop(): void {
    this.#stopped = true;
  }
}
