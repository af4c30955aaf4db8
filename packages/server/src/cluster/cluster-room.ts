/**
 * What a full node says when it refuses a new stream (503 `over_capacity`) in a cluster: whether
 * the other nodes had room at their last heartbeat (the cluster view: whether each node refused new
 * streams, full by count or by load, and its active streams and capacity), and so when to retry. HAProxy retries the 503 on other nodes (deploy/haproxy.cfg),
 * so a client sees it only when the nodes it tried were full: when the view shows every node full,
 * the refusal says so and keeps the configured `Retry-After`; when another node had room (HAProxy
 * tried only full ones, or the client came straight to this node), a retry at once can get in.
 */

/** `Retry-After` when another node had room. */
export const ROOM_ELSEWHERE_RETRY_AFTER_S = 1;

/** The other nodes of the cluster view, and how many of them had room. */
export interface OtherNodes {
  readonly nodes: number;
  readonly withRoom: number;
}

export interface FullNodeAnswer {
  readonly message: string;
  readonly retryAfterSeconds: number;
}

/** The refusal of a full node: its own `message` and `retryAfterSeconds`, with what the view adds. */
export function fullNodeAnswer(
  message: string,
  retryAfterSeconds: number,
  others: OtherNodes | undefined,
): FullNodeAnswer {
  if (others === undefined) return { message, retryAfterSeconds };
  if (others.withRoom === 0) {
    const nodes = others.nodes + 1;
    return {
      message: `${message} Every node of the cluster is full (${nodes} node${nodes === 1 ? "" : "s"}).`,
      retryAfterSeconds,
    };
  }
  return {
    message: `${message} ${others.withRoom} other node${others.withRoom === 1 ? "" : "s"} had room at the last heartbeat: retry now, through the load balancer.`,
    retryAfterSeconds: ROOM_ELSEWHERE_RETRY_AFTER_S,
  };
}
