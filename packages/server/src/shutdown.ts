/**
 * Closing the server: stop accepting, let open streams send the finals the engine can still give
 * (bounded by `shutdownFlushMs`) and tell their clients to reconnect (1012), cut what is left, then
 * close the engine.
 */
import { once } from "node:events";
import type { Server } from "node:http";
import type { Engine } from "@earshot/engines";
import type { MainThreadMonitor } from "./server-load.js";
import type { SessionRegistry } from "./session-registry.js";
import type { StreamUpgrades } from "./upgrade.js";

/** Time for the close frames to go out before the sockets are cut. */
const CLOSE_FRAMES_MS = 50;

export interface ShutdownParts {
  readonly http: Server;
  readonly upgrades: StreamUpgrades;
  readonly sessions: SessionRegistry;
  readonly mainThread: MainThreadMonitor;
  readonly engine: Engine;
  readonly flushMs: number;
}

export async function shutdown({
  http,
  upgrades,
  sessions,
  mainThread,
  engine,
  flushMs,
}: ShutdownParts): Promise<void> {
  const closed = http.listening ? once(http, "close") : Promise.resolve();
  http.close(); // stop accepting
  mainThread.stop();
  await Promise.all(sessions.all().map((session) => session.shutdown(flushMs)));
  await new Promise((resolve) => setTimeout(resolve, CLOSE_FRAMES_MS));
  upgrades.terminateAll();
  http.closeAllConnections();
  await closed;
  await engine.close();
}
