/**
 * `earshot serve --redis` (or `EARSHOT_REDIS_URL`): the cluster options, or none (the node runs
 * alone). The node id defaults to hostname-port-suffix: unique per process even when several
 * nodes share a host, readable in logs and metrics.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { ClusterOptions } from "@earshot/server";
import { CliError } from "./cli-error.js";

export interface ClusterFlags {
  readonly redis: string | undefined;
  readonly nodeId: string | undefined;
  readonly leaseMs: number | undefined;
  readonly port: number;
}

/** Redis keys and labels carry the id: keep it to characters safe in both. */
const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function clusterOptions(flags: ClusterFlags): ClusterOptions | undefined {
  const redisUrl = flags.redis ?? process.env.EARSHOT_REDIS_URL;
  if (redisUrl === undefined || redisUrl === "") {
    if (flags.nodeId !== undefined || flags.leaseMs !== undefined) {
      throw new CliError("--node-id and --node-lease-ms need --redis (or EARSHOT_REDIS_URL)");
    }
    return undefined;
  }
  if (!/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    // Not echoed: the URL may carry a password.
    throw new CliError("invalid --redis (or EARSHOT_REDIS_URL): expected redis://host:port (or rediss:// for TLS)");
  }
  const nodeId = flags.nodeId ?? defaultNodeId(flags.port);
  if (!NODE_ID.test(nodeId)) throw new CliError(`invalid --node-id "${nodeId}": letters, digits, . _ - (at most 64)`);
  return { redisUrl, nodeId, ...(flags.leaseMs === undefined ? {} : { leaseMs: flags.leaseMs }) };
}

function defaultNodeId(port: number): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .slice(0, 40);
  return `${host}-${port}-${randomBytes(3).toString("hex")}`;
}
