import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { defineLoadGauges, defineStreamGauges, type MetricsSources } from "./source-gauges.js";

const SOURCES: MetricsSources = {
  connections: () => 7,
  activeStreams: () => 5,
  waitingSessions: () => 2,
  waitingDecoders: () => 1,
  heldStreams: () => 6,
  unconfiguredConnections: () => 3,
  maxStreams: () => Number.POSITIVE_INFINITY,
  load: () => ({ engineUtilization: undefined, utilization: 0.5, mainThreadUtilization: 0.25, maxBacklogMs: 1500 }),
};

async function samples(registry: Registry): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const line of (await registry.metrics()).split("\n")) {
    const [name, value] = line.split(" ");
    if (name && value && !line.startsWith("#")) found.set(name, Number(value));
  }
  return found;
}

describe("source gauges", () => {
  it("read the server's connections and sessions when scraped; no stream limit is -1", async () => {
    const registry = new Registry();
    defineStreamGauges(registry, SOURCES);
    assert.deepEqual(
      await samples(registry),
      new Map([
        ["earshot_websocket_connections", 7],
        ["earshot_active_streams", 5],
        ["earshot_sessions_waiting_for_resume", 2],
        ["earshot_waiting_decoders", 1],
        ["earshot_held_streams", 6],
        ["earshot_max_streams", -1],
        ["earshot_unconfigured_connections", 3],
      ]),
    );
    const limited = new Registry();
    defineStreamGauges(limited, { ...SOURCES, maxStreams: () => 40 });
    assert.equal((await samples(limited)).get("earshot_max_streams"), 40);
  });

  it("export the load in ratios and seconds, and the engine's utilization only when it reports one", async () => {
    const registry = new Registry();
    defineLoadGauges(registry, SOURCES, false);
    assert.deepEqual(
      await samples(registry),
      new Map([
        ["earshot_server_utilization_ratio", 0.5],
        ["earshot_main_thread_utilization_ratio", 0.25],
        ["earshot_engine_backlog_max_seconds", 1.5],
      ]),
    );
    const reporting = new Registry();
    defineLoadGauges(reporting, SOURCES, true);
    assert.equal((await samples(reporting)).get("earshot_engine_utilization_ratio"), 0, "cannot tell: 0");
    const busy = new Registry();
    defineLoadGauges(busy, { ...SOURCES, load: () => ({ ...SOURCES.load(), engineUtilization: 0.75 }) }, true);
    assert.equal((await samples(busy)).get("earshot_engine_utilization_ratio"), 0.75);
  });
});
