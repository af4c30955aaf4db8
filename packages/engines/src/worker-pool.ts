/**
 * The decoding workers (threads or processes) of one engine: starts `size` of them, hands out the
 * least loaded, puts a fresh one in place of each that crashes, and stops them all. A member's
 * crash has already failed its streams; the pool only keeps the slot filled.
 */

import { EngineUnavailableError } from "./contract.js";

/** What the pool needs of a worker. */
export interface PoolMember {
  /** False once it has crashed or been stopped. */
  readonly alive: boolean;
  /** Streams open or opening on it: the pool's measure of its load. */
  readonly streamCount: number;
  stop(): Promise<void>;
}

export interface WorkerPoolOptions<T extends PoolMember> {
  /** Used in errors: "<engine> engine is closed". */
  readonly engine: string;
  /** Members to start; at least 1. */
  readonly size: number;
  /** Starts one member, which calls `crashed` if it dies on its own after it has started. */
  readonly start: (crashed: () => void) => Promise<T>;
  /** A crashed member is leaving the pool (before its replacement starts): to keep its counters. */
  readonly onCrash?: (member: T) => void;
}

export class WorkerPool<T extends PoolMember> {
  readonly #options: WorkerPoolOptions<T>;
  readonly #size: number;
  #members: T[] = [];
  /** Replacements still starting: each joins the members once started. */
  readonly #replacements = new Set<Promise<T>>();
  #stopped = false;

  constructor(options: WorkerPoolOptions<T>) {
    this.#options = options;
    this.#size = Math.max(1, Math.floor(options.size));
  }

  /** The running members (a crashed one leaves at once). */
  get members(): readonly T[] {
    return this.#members;
  }

  /**
   * Starts every member; if one fails (or the pool is stopped meanwhile), stops those that did
   * start and rejects with the first failure.
   */
  async start(): Promise<void> {
    const starting = this.#stopped ? [] : Array.from({ length: this.#size }, () => this.#startOne());
    const results = await Promise.allSettled(starting);
    const started = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    const failure = results.find((result) => result.status === "rejected");
    if (failure || this.#stopped) {
      await Promise.all(started.map((member) => member.stop()));
      throw failure?.reason ?? new EngineUnavailableError(`${this.#options.engine} engine closed while loading`);
    }
    // One that crashed meanwhile is being replaced already.
    this.#members.push(...started.filter((member) => member.alive));
  }

  /** The live member with the fewest streams, if any. */
  leastLoaded(): T | undefined {
    let best: T | undefined;
    for (const member of this.#members) {
      if (member.alive && (!best || member.streamCount < best.streamCount)) best = member;
    }
    return best;
  }

  /**
   * The least loaded live member; with none left (all crashed), a replacement on its way, or a
   * new one (whose failure to start is the error).
   */
  acquire(): Promise<T> {
    if (this.#stopped) return Promise.reject(this.#closedError());
    const best = this.leastLoaded();
    if (best) return Promise.resolve(best);
    const [starting] = this.#replacements;
    return starting ?? this.#replace();
  }

  /** Stops every member; replacements that finish starting afterwards are stopped too. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const members = this.#members;
    this.#members = [];
    await Promise.all(members.map((member) => member.stop()));
  }

  #startOne(): Promise<T> {
    let member: T | undefined;
    const crashed = () => {
      if (member) this.#crashed(member);
    };
    return this.#options.start(crashed).then((started) => {
      member = started;
      return started;
    });
  }

  #replace(): Promise<T> {
    const starting = this.#startOne().then(async (member) => {
      if (this.#stopped) {
        await member.stop();
        throw this.#closedError();
      }
      this.#members.push(member);
      return member;
    });
    this.#replacements.add(starting);
    const settled = () => this.#replacements.delete(starting);
    starting.then(settled, settled);
    return starting;
  }

  #crashed(crashed: T): void {
    this.#options.onCrash?.(crashed);
    this.#members = this.#members.filter((member) => member !== crashed);
    // A replacement that fails to start leaves the slot empty: `acquire` tries again and says why.
    if (!this.#stopped) this.#replace().catch(() => undefined);
  }

  #closedError(): EngineUnavailableError {
    return new EngineUnavailableError(`${this.#options.engine} engine is closed`);
  }
}
