/**
 * Open stream connections, in all and per API key, and those of them without a session yet (no
 * valid `config` or `resume`): a key may hold `maxStreamsPerKey` streams (a connection is one, a
 * two-channel one two), and only
 * `maxUnconfiguredPerKey` of them idle, so one key's idle sockets cannot crowd out the others.
 * A connection counts from the upgrade decision until its socket closes.
 */

export interface ConnectionLimits {
  readonly maxStreamsPerKey: number;
  readonly maxUnconfiguredPerKey: number;
}

/** One counted connection: it got its session (once), or it closed (once). */
export interface CountedConnection {
  bound(): void;
  /**
   * Counts the connection as `streams` streams of its key (a two-channel stream holds two).
   * Returns why not, when that is over the key's limit, and then counts it as before; `force`:
   * counted anyway (a resume, let in as its first connection was).
   */
  holds(streams: number, force?: boolean): string | undefined;
  closed(bound: boolean): void;
}

export class ConnectionCounts {
  readonly #limits: ConnectionLimits;
  readonly #perKey = new Map<string, { connections: number; unconfigured: number }>();
  #open = 0;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /** Open connections, of every key. */
  get open(): number {
    return this.#open;
  }

  /** Open connections without a session yet, of every key. */
  get unconfigured(): number {
    let unconfigured = 0;
    for (const counts of this.#perKey.values()) unconfigured += counts.unconfigured;
    return unconfigured;
  }

  /** Open connections of `key`. */
  connectionsOf(key: string): number {
    return this.#perKey.get(key)?.connections ?? 0;
  }

  /** Open connections by key (keys with none are left out). */
  perKey(): Map<string, number> {
    return new Map([...this.#perKey].map(([key, counts]) => [key, counts.connections]));
  }

  /** Why one more connection of `key` would be refused (`too_many_streams`), or undefined. */
  refusal(key: string): string | undefined {
    const counts = this.#perKey.get(key) ?? { connections: 0, unconfigured: 0 };
    const { maxStreamsPerKey, maxUnconfiguredPerKey } = this.#limits;
    if (counts.connections >= maxStreamsPerKey)
      return `This key has ${counts.connections} open streams; the limit is ${maxStreamsPerKey}.`;
    if (counts.unconfigured >= maxUnconfiguredPerKey)
      return `This key has ${counts.unconfigured} connections that have not sent config yet; the limit is ${maxUnconfiguredPerKey}.`;
    return undefined;
  }

  /** Counts a new connection of `key`, without a session yet. */
  add(key: string): CountedConnection {
    const counts = this.#perKey.get(key) ?? { connections: 0, unconfigured: 0 };
    counts.connections += 1;
    counts.unconfigured += 1;
    this.#perKey.set(key, counts);
    this.#open += 1;
    let held = 1;
    return {
      bound: () => {
        counts.unconfigured -= 1;
      },
      holds: (streams, force = false) => {
        const { maxStreamsPerKey } = this.#limits;
        const after = counts.connections - held + streams;
        if (!force && streams > held && after > maxStreamsPerKey) {
          return `This key has ${counts.connections} open streams; the limit is ${maxStreamsPerKey}, and a two-channel stream counts two.`;
        }
        counts.connections = after;
        held = streams;
        return undefined;
      },
      closed: (bound) => {
        this.#open -= 1;
        counts.connections -= held;
        if (!bound) counts.unconfigured -= 1;
        if (counts.connections === 0) this.#perKey.delete(key);
      },
    };
  }
}
