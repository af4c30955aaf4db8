/**
 * Draining the node (a deploy, a rolling restart): SIGTERM to `earshot serve`, or the admin call
 * (`POST /v1/admin/drain`, admin-route.ts). From its start `/readyz` answers 503 `draining` (the
 * balancer's health check stops sending new streams), new stream upgrades and resumes are refused
 * with 503 `draining` (the balancer tries another node), the node's Redis hash says `draining`, and
 * every session moves away at its next utterance end (`session-handoff.ts`): its client is told
 * `draining`, closed with 1012, and continues on another node. At the bound (`timeoutMs`) the
 * sessions left move wherever they stand. The drain is over when no session is left (and no file
 * transcription, OpenAI's POST, is in flight); the owner (`earshot serve`) then closes the server
 * and exits.
 *
 * Lifecycle: serving → draining → drained, once.
 */
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import type { ClientSession } from "./client-session.js";
import type { Cluster } from "./cluster/cluster.js";
import { scrapedGauge } from "./metric-kinds.js";
import type { SessionRegistry } from "./session-registry.js";

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** `Retry-After` of a refusal while draining: at once (to another node). */
export const DRAINING_RETRY_AFTER_S = 1;
export const DRAINING_REFUSAL = "This node is draining (a deploy or restart); connect to another node.";
/** How often the drain looks for sessions left (and new ones to hand off). */
const CHECK_EVERY_MS = 100;
/** After the bound, how long the last sessions get to tell their clients and end. */
const AFTER_BOUND_MS = 2_000;

export type DrainState = "serving" | "draining" | "drained";
/** What started the drain. */
export type DrainTrigger = "signal" | "admin";

export interface NodeDrainParts {
  readonly sessions: SessionRegistry;
  readonly cluster: Cluster | undefined;
  readonly log: Logger;
  /** The bound: sessions still in an utterance then move anyway. */
  readonly timeoutMs: number;
}

export class NodeDrain {
  readonly #parts: NodeDrainParts;
  #state: DrainState = "serving";
  #done: Promise<void> | undefined;
  /** Sessions already asked to move. */
  readonly #handedOff = new WeakSet<ClientSession>();
  readonly #drained: Promise<void>;
  #resolveDrained: () => void = () => {};
  /** Sessions the drain handed off, and of them those still there at the bound (undefined before it). */
  #handedOffCount = 0;
  #atBound: number | undefined;
  /** HTTP requests that decode a file (`whileRequest`): the drain waits for them too, up to its bound. */
  #requestsInFlight = 0;

  constructor(parts: NodeDrainParts) {
    this.#parts = parts;
    this.#drained = new Promise((resolve) => {
      this.#resolveDrained = resolve;
    });
  }

  /** `earshot_draining` and `earshot_drain_sessions_total`, read when scraped. */
  defineMetrics(registry: Registry): void {
    scrapedGauge(registry, "earshot_draining", "1 from the start of this node's drain on.", () =>
      this.draining ? 1 : 0,
    );
    const counts = (): { before_bound: number; at_bound: number } => {
      // Before the bound: the sessions gone so far; after it, those still there then moved anyway.
      const { sessions } = this.#parts;
      const left = this.#atBound ?? sessions.all().filter((session) => this.#handedOff.has(session)).length;
      return { before_bound: this.#handedOffCount - left, at_bound: this.#atBound ?? 0 };
    };
    new Counter({
      name: "earshot_drain_sessions_total",
      help: "Sessions the drain handed off, by when they went: before_bound (at an utterance end, or ended on their own), at_bound (moved mid-utterance).",
      labelNames: ["moved"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [moved, count] of Object.entries(counts())) this.inc({ moved }, count);
      },
    });
  }

  /** Resolves once a drain, whatever started it, is over: the owner then closes the server. */
  get drained(): Promise<void> {
    return this.#drained;
  }

  get state(): DrainState {
    return this.#state;
  }

  /** From the drain's start on: refuse new streams and resumes, answer `/readyz` 503. */
  get draining(): boolean {
    return this.#state !== "serving";
  }

  get timeoutMs(): number {
    return this.#parts.timeoutMs;
  }

  /** Runs a request the drain must let finish (a file transcription), counted while it runs. */
  async whileRequest<T>(work: () => Promise<T>): Promise<T> {
    this.#requestsInFlight += 1;
    try {
      return await work();
    } finally {
      this.#requestsInFlight -= 1;
    }
  }

  /** Starts the drain (a second call joins the first); resolves once no session is left. */
  start(trigger: DrainTrigger): Promise<void> {
    this.#done ??= this.#drain(trigger);
    return this.#done;
  }

  async #drain(trigger: DrainTrigger): Promise<void> {
    const { sessions, cluster, log, timeoutMs } = this.#parts;
    this.#state = "draining";
    log.info({ trigger, sessions: sessions.all().length, timeoutMs }, "draining: moving streams to other nodes");
    cluster?.draining();
    const bound = performance.now() + timeoutMs;
    const left = await this.#untilGone(bound, (session) => session.handOff());
    this.#atBound = left;
    if (left > 0) {
      log.warn({ sessions: left }, "drain bound passed: moving the streams left mid-utterance");
      await this.#untilGone(performance.now() + AFTER_BOUND_MS, (session) => session.handOffNow(), true);
    }
    this.#state = "drained";
    log.info({ left: sessions.all().length }, "drained");
    this.#resolveDrained();
  }

  /**
   * Hands each session off (new ones too) until none is left, and no request in flight, or `until`
   * passes; `again`: ask every session each round, not only once. Returns how many sessions are left.
   */
  async #untilGone(until: number, handOff: (session: ClientSession) => void, again = false): Promise<number> {
    const { sessions } = this.#parts;
    for (;;) {
      const live = sessions.all();
      if (live.length === 0 && this.#requestsInFlight === 0) return 0;
      for (const session of live) {
        if (!again && this.#handedOff.has(session)) continue;
        if (!this.#handedOff.has(session)) this.#handedOffCount += 1;
        this.#handedOff.add(session);
        handOff(session);
      }
      again = false;
      if (performance.now() >= until) return live.length;
      await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
    }
  }
}
