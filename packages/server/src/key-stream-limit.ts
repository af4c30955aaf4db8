/**
 * `--max-streams-per-key` for the surfaces whose connection has its session from the start (the
 * compatibility surfaces: Deepgram, AssemblyAI, OpenAI's batch route, and a Twilio call let in by
 * a stream token): a connection counted on this node (`ConnectionCounts`, the truth for the node's
 * own streams) and, in a cluster, across nodes (the per-key admission script, key-streams.ts), so
 * the limit holds for every surface wherever its streams land. A connection counts as many streams
 * as the decoders it holds (a two-track call, a multichannel stream), as a two-channel stream of
 * earshot's own protocol does. Redis away: the node's own count decides (redis-link.ts).
 */
import type { Cluster } from "./cluster/cluster.js";
import type { ConnectionCounts } from "./connection-counts.js";

/** A connection counted (`release` gives it back when it ends; idempotent), or why its key has too many. */
export type KeyStreamCount = { readonly ok: true; release(): void } | { readonly ok: false; readonly why: string };

export class KeyStreamLimit {
  readonly #connections: ConnectionCounts;
  readonly #cluster: Cluster | undefined;
  readonly #maxStreamsPerKey: number;

  constructor(connections: ConnectionCounts, cluster: Cluster | undefined, maxStreamsPerKey: number) {
    this.#connections = connections;
    this.#cluster = cluster;
    this.#maxStreamsPerKey = maxStreamsPerKey;
  }

  /** Counts a connection of `key` holding `streams` streams, on this node then across the cluster. */
  async count(key: string, streams: number): Promise<KeyStreamCount> {
    const connections = this.#connections;
    const tooMany = connections.refusal(key);
    if (tooMany) return { ok: false, why: tooMany };
    const counted = connections.add(key);
    counted.bound();
    const tooManyStreams = counted.holds(streams);
    if (tooManyStreams) {
      counted.closed(true);
      return { ok: false, why: tooManyStreams };
    }
    const cluster = this.#cluster;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      counted.closed(true);
      cluster?.keyStreamsChanged(key, connections.connectionsOf(key));
    };
    if (!cluster) return { ok: true, release };
    // The count written for this node includes this connection; a refusal writes it back without.
    const admitted = await cluster.admitStream(key, connections.connectionsOf(key), this.#maxStreamsPerKey);
    if (admitted?.ok === false) {
      release();
      return {
        ok: false,
        why: `This key has ${admitted.elsewhere} open streams on other nodes; the limit is ${this.#maxStreamsPerKey} across the cluster.`,
      };
    }
    return { ok: true, release };
  }
}
