/**
 * What a full node says when it refuses a new stream (503 `over_capacity`) in a cluster: whether
 * the other nodes had room at their last heartbeat (the cluster view: whether each node refused new
 * streams, full by count or by load, and its active streams and capacity), and so when to retry. HAProxy retries the 503 on other nodes (deploy/haproxy.cfg),
 * so a client sees it only when the nodes it tried were full: when the view shows every node full,
 * the refusal says so and keeps the configured `Retry-After`; when another node had room (HAProxy
 * tried only full ones, or the client came straight to this node), a retry at once can get in.
 */
import type { Refusal } from "../admission.js";

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

/** What a node knows of its own room (`Capacity`). */
export interface NodeRoom {
  refusal(room: "after_release"): Refusal | undefined;
  readonly retryAfterSeconds: number;
}

/**
 * A full node's 503 for an upgrade it would otherwise take and fail later (AssemblyAI refuses
 * after the handshake, a Twilio track is admitted at its first audio): only while the view shows
 * another node with room, so that HAProxy retries the upgrade there. Undefined: take it, and refuse
 * it in the surface's own way if it comes to that.
 */
export function passOnWhileFull(
  node: NodeRoom,
  others: OtherNodes | undefined,
): (FullNodeAnswer & { readonly reason: Refusal["reason"] }) | undefined {
  if (others === undefined || others.withRoom === 0) return undefined;
  const refused = node.refusal("after_release");
  if (refused === undefined) return undefined;
  return { reason: refused.reason, ...fullNodeAnswer(refused.message, node.retryAfterSeconds, others) };
}
