/**
 * The gauges a scrape reads from the server itself (`MetricsSources`): its connections and
 * sessions, the stream limit in force, and its load.
 */
import type { DecoderPoolLoad } from "@earshot/engines";
import { Counter, type Registry } from "prom-client";
import { scrapedCounter, scrapedGauge } from "./metric-kinds.js";

/** What the server reports at scrape time. */
export interface MetricsSources {
  /** Open WebSocket connections on the stream endpoint. */
  connections(): number;
  /** Sessions with a connection (streaming, or finishing after close_stream). */
  activeStreams(): number;
  /** Sessions whose connection dropped, waiting for a resume. */
  waitingSessions(): number;
  /** Those of them that still hold their engine stream (decoder). */
  waitingDecoders(): number;
  /** Sessions holding an engine stream, connected or waiting: what `maxStreams` bounds. */
  heldStreams(): number;
  /** Connections that have not sent a valid `config` or `resume` yet. */
  unconfiguredConnections(): number;
  /** The stream limit in force (Infinity: none). */
  maxStreams(): number;
  /**
   * The engine's utilization (undefined when it cannot tell), the server's (engine demand plus the
   * main thread, of all cores: what admission reads), the main thread's, and the largest backlog.
   */
  load(): {
    readonly engineUtilization: number | undefined;
    readonly utilization: number;
    readonly mainThreadUtilization: number;
    readonly maxBacklogMs: number;
    /** The engine's decoder pools, for engines that lend decoders per utterance. */
    readonly decoders?: DecoderPoolLoad | undefined;
  };
}

/** Connections, sessions and the stream limit. */
export function defineStreamGauges(registry: Registry, sources: MetricsSources): void {
  scrapedGauge(registry, "earshot_websocket_connections", "Open WebSocket connections on the stream endpoint.", () =>
    sources.connections(),
  );
  scrapedGauge(
    registry,
    "earshot_active_streams",
    "Streams with a connection: streaming, or sending their last finals after close_stream.",
    () => sources.activeStreams(),
  );
  scrapedGauge(
    registry,
    "earshot_sessions_waiting_for_resume",
    "Sessions whose connection dropped, kept for a resume (with or without their engine stream).",
    () => sources.waitingSessions(),
  );
  scrapedGauge(
    registry,
    "earshot_waiting_decoders",
    "Engine streams (decoders) that sessions waiting for a resume still hold.",
    () => sources.waitingDecoders(),
  );
  scrapedGauge(
    registry,
    "earshot_held_streams",
    "Engine streams (decoders) that sessions hold, connected or waiting (two for a two-channel one): what max_streams bounds.",
    () => sources.heldStreams(),
  );
  scrapedGauge(
    registry,
    "earshot_max_streams",
    "The stream limit in force (--max-streams, or derived from memory); -1 for none.",
    () => {
      const max = sources.maxStreams();
      return Number.isFinite(max) ? max : -1;
    },
  );
  scrapedGauge(
    registry,
    "earshot_unconfigured_connections",
    "Connections that have not sent a valid config or resume yet (closed with config_timeout after a few seconds).",
    () => sources.unconfiguredConnections(),
  );
}

/** The engine's, the server's and the main thread's utilization, and the largest backlog. */
export function defineLoadGauges(registry: Registry, sources: MetricsSources, engineReportsLoad: boolean): void {
  if (engineReportsLoad) {
    scrapedGauge(
      registry,
      "earshot_engine_utilization_ratio",
      "Fraction (0..1) of the engine's decoding capacity busy over the last few seconds.",
      () => sources.load().engineUtilization ?? 0,
    );
  }
  scrapedGauge(
    registry,
    "earshot_server_utilization_ratio",
    "Fraction (0..1) of the machine's cores the server needs: engine demand plus the main thread (admission reads it).",
    () => sources.load().utilization,
  );
  scrapedGauge(
    registry,
    "earshot_main_thread_utilization_ratio",
    "Event loop utilization (0..1) of the server's main thread over the last 5 s.",
    () => sources.load().mainThreadUtilization,
  );
  scrapedGauge(
    registry,
    "earshot_engine_backlog_max_seconds",
    "The largest backlog of any stream: audio received but not decoded yet.",
    () => sources.load().maxBacklogMs / 1000,
  );
}

/**
 * The decoder pools of engines that lend decoders per utterance (PocketSphinx): how many exist, are
 * free, lent, and awaited, and how many were made when. `when="connect"` counts decoders made on a
 * stream's connect path: kept at 0 (a stream opens without one), exported so that stays checked.
 */
export function defineDecoderPoolGauges(registry: Registry, sources: MetricsSources): void {
  const pool = () => sources.load().decoders;
  scrapedGauge(registry, "earshot_decoder_pool_size", "Decoders that exist (free plus lent).", () => pool()?.size ?? 0);
  scrapedGauge(registry, "earshot_decoder_pool_free", "Warm decoders free to lend.", () => pool()?.free ?? 0);
  scrapedGauge(
    registry,
    "earshot_decoder_pool_lent",
    "Decoders lent to utterances in progress: the active utterances.",
    () => pool()?.lent ?? 0,
  );
  scrapedGauge(
    registry,
    "earshot_decoder_pool_waiting",
    "Utterances waiting for a decoder, their audio queued.",
    () => pool()?.waiting ?? 0,
  );
  new Counter({
    name: "earshot_decoders_created_total",
    help: "Decoders made: at start-up (before /readyz), in the background (maker thread), on a stream's connect path (0).",
    labelNames: ["when"],
    registers: [registry],
    collect() {
      const created = pool()?.created ?? { startup: 0, background: 0, connect: 0 };
      this.reset();
      for (const when of ["startup", "background", "connect"] as const) this.inc({ when }, created[when]);
    },
  });
  scrapedCounter(
    registry,
    "earshot_decoder_waits_total",
    "Utterances that found no decoder free at speech onset and waited for one.",
    () => pool()?.waits ?? 0,
  );
  scrapedCounter(
    registry,
    "earshot_decoders_destroyed_total",
    "Decoders freed: idle beyond the warm ones, or failed.",
    () => pool()?.destroyed ?? 0,
  );
}
