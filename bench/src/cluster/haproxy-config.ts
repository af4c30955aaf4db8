/**
 * The bench's copy of the shipped `deploy/haproxy.cfg`: the same settings, with the frontend bound
 * to a loopback port, the backend's servers replaced by the bench's nodes, the stats socket in a
 * temp dir and the process-level lines a bench cannot use (chroot, user, group) left out, as the
 * tests run it. Two limits change, and the report says so: the global `maxconn` is lowered to what
 * this process's file limit allows (HAProxy raises its own to about twice it), and the per-server
 * `maxconn` of `default-server` is raised, because the shipped 500 would queue a test-engine node's
 * streams beyond 500 (a PocketSphinx node holds about 20, far below it).
 */

export interface HaproxyLimits {
  /** Global `maxconn`: connections HAProxy holds in all. */
  readonly globalMaxconn: number;
  /** `maxconn` per server (`default-server`): streams one node gets before HAProxy queues them. */
  readonly serverMaxconn: number;
}

/** The shipped per-server `maxconn`, read from the config text (undefined when it sets none). */
export function shippedServerMaxconn(shipped: string): number | undefined {
  const line = shipped.split("\n").find((l) => /^\s*default-server\s/.test(l));
  const value = line === undefined ? undefined : /\smaxconn\s+(\d+)/.exec(line)?.[1];
  return value === undefined ? undefined : Number(value);
}

/** `shipped` rewritten for `nodes` (`127.0.0.1:port` each), the frontend on `port`, the runtime API at `socket`. */
export function benchHaproxyConfig(
  shipped: string,
  nodes: readonly string[],
  port: number,
  socket: string,
  limits: HaproxyLimits,
): string {
  const out: string[] = [];
  for (const line of shipped.split("\n")) {
    const trimmed = line.trim();
    if (/^(chroot|user|group|server)\s/.test(trimmed)) continue;
    if (/^maxconn\s/.test(trimmed)) out.push(`    maxconn ${limits.globalMaxconn}`);
    else if (/^bind\s/.test(trimmed)) out.push(`    bind 127.0.0.1:${port}`);
    else if (/^stats socket\s/.test(trimmed)) out.push(`    stats socket ${socket} mode 600 level admin`);
    else if (/^default-server\s/.test(trimmed)) {
      out.push(line.replace(/\smaxconn\s+\d+/, ` maxconn ${limits.serverMaxconn}`));
      nodes.forEach((address, index) => {
        out.push(`    server node${index + 1} ${address} check`);
      });
    } else out.push(line);
  }
  return out.join("\n");
}

/**
 * The largest global `maxconn` a file limit of `fileLimit` descriptors lets HAProxy start with: it
 * needs two per proxied connection (client and server side) and a few for itself.
 */
export function maxconnForFileLimit(fileLimit: number): number {
  return Math.max(100, Math.floor((fileLimit - 200) / 2));
}
