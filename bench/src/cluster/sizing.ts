/**
 * On paper: how many nodes a call volume needs, from what one stream was measured to cost. The
 * load: calls a day × minutes per call spread over the day's 1,440 minutes is the average number
 * of concurrent streams; × the peak factor is what the cluster must hold at once. A node of `c`
 * cores holds `c × utilization / cost` streams, where cost is CPU-seconds per audio second per
 * stream (the node and its decoding processes) and utilization the share of the cores a node may
 * fill while latency holds (`earshot serve --max-utilization`, default 0.7). One more node covers a
 * node lost, or drained for a rolling restart, at the peak.
 */

export interface CallVolume {
  readonly callsPerDay: number;
  readonly minutesPerCall: number;
  readonly peakFactor: number;
}

export const ISSUE_VOLUME: CallVolume = { callsPerDay: 50_000, minutesPerCall: 4, peakFactor: 3 };

export interface StreamCost {
  /** CPU-seconds per audio second per stream: the node and its decoding processes. */
  readonly cpuPerStream: number;
  /** Of it, the node's main process (WebSockets, sessions, the VAD): one thread, so it bounds a process. */
  readonly mainCpuPerStream: number;
  /** HAProxy and Redis, CPU-seconds per audio second per stream. */
  readonly frontCpuPerStream: number;
  readonly rssPerStreamMb: number;
  /** A node's RSS with no stream (its engine loaded). */
  readonly idleRssMb: number;
}

export interface SizingRow {
  readonly cores: number;
  readonly streamsPerNode: number;
  readonly nodes: number;
  /** `nodes` + 1, so the peak holds with a node down or draining. */
  readonly nodesWithSpare: number;
  /** Node processes per machine so no main thread passes `utilization` of its core. */
  readonly processesPerNode: number;
  readonly memoryGiBPerNode: number;
}

export interface Sizing {
  readonly averageStreams: number;
  readonly peakStreams: number;
  /** HAProxy and Redis at the peak, cores. */
  readonly frontCores: number;
  readonly rows: readonly SizingRow[];
}

export function averageStreams(volume: CallVolume): number {
  return (volume.callsPerDay * volume.minutesPerCall) / (24 * 60);
}

export function peakStreams(volume: CallVolume): number {
  return Math.ceil(averageStreams(volume) * volume.peakFactor);
}

export function size(volume: CallVolume, cost: StreamCost, coreCounts: readonly number[], utilization: number): Sizing {
  const peak = peakStreams(volume);
  return {
    averageStreams: averageStreams(volume),
    peakStreams: peak,
    frontCores: peak * cost.frontCpuPerStream,
    rows: coreCounts.map((cores) => {
      // The epsilon keeps 1.4 / 0.07 at 20 despite binary fractions.
      const streamsPerNode = Math.floor((cores * utilization) / cost.cpuPerStream + 1e-9);
      const nodes = Math.ceil(peak / streamsPerNode);
      const processesPerNode = Math.max(1, Math.ceil((streamsPerNode * cost.mainCpuPerStream) / utilization));
      return {
        cores,
        streamsPerNode,
        nodes,
        nodesWithSpare: nodes + 1,
        processesPerNode,
        memoryGiBPerNode: (processesPerNode * cost.idleRssMb + streamsPerNode * cost.rssPerStreamMb) / 1024,
      };
    }),
  };
}

/** Nodes of the measured kind for the peak, from the capacity one of them held (and one spare). */
export function nodesFromCapacity(volume: CallVolume, capacity: number): { nodes: number; nodesWithSpare: number } {
  const nodes = Math.ceil(peakStreams(volume) / capacity);
  return { nodes, nodesWithSpare: nodes + 1 };
}
