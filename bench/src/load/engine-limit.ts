/**
 * The engine's own limit on this machine: the tuned PocketSphinx decoder alone (one worker, no
 * server, no sockets, no pacing) decodes the eval set as fast as it can, like engine-bench.ts, and
 * its real-time factor is taken from CPU time (this process, all threads) rather than wall time, so
 * other work on a shared machine does not inflate it. Limit = cores / RTF: how many live streams
 * the cores could decode if decoding were all they did.
 */
import { availableParallelism } from "node:os";
import { PocketSphinxEngine } from "@earshot/engines";
import { sum } from "../stats.js";
import type { Clip } from "./playlist.js";

export interface EngineLimit {
  readonly audioSeconds: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  /** CPU seconds per audio second. */
  readonly cpuRtf: number;
  readonly wallRtf: number;
  readonly cores: number;
  /** cores / cpuRtf, in concurrent real-time streams. */
  readonly streams: number;
}

const STREAM_OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;

export async function measureEngineLimit(clips: readonly Clip[]): Promise<EngineLimit> {
  // The server's engine, as `earshot serve` builds it, but with one worker decoding one stream.
  const engine = new PocketSphinxEngine({ workers: 1 });
  await engine.load();
  try {
    const warmUp = clips[0];
    if (warmUp) await decode(engine, warmUp);
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    for (const clip of clips) await decode(engine, clip);
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const wallSeconds = (performance.now() - wallBefore) / 1000;
    const audioSeconds = sum(clips.map((c) => c.frames.length)) / 10;
    const cores = availableParallelism();
    const cpuRtf = cpuSeconds / audioSeconds;
    return {
      audioSeconds,
      cpuSeconds,
      wallSeconds,
      cpuRtf,
      wallRtf: wallSeconds / audioSeconds,
      cores,
      streams: cores / cpuRtf,
    };
  } finally {
    await engine.close();
  }
}

async function decode(engine: PocketSphinxEngine, clip: Clip): Promise<void> {
  const stream = await engine.openStream(STREAM_OPTIONS);
  const reading = (async () => {
    for await (const event of stream) if (event.type === "error") throw event.error;
  })();
  for (const frame of clip.frames) stream.push(new Int16Array(frame.buffer, frame.byteOffset, frame.length / 2));
  await stream.end();
  await reading;
}
