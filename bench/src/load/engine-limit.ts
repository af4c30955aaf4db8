/**
 * The engine's own limit on this machine: the tuned PocketSphinx decoder alone (one worker, no
 * server, no sockets, no pacing) decodes the eval set as fast as it can, like engine-bench.ts, and
 * its real-time factor is taken from CPU time (this process, all threads) rather than wall time, so
 * other work on a shared machine does not inflate it. Limit = cores / RTF: how many live streams
 * the cores could decode if decoding were all they did.
 *
 * It then measures the same decoder with `INTERLEAVED` streams sharing its thread (all of them fed
 * at once, so the worker takes 100 ms turns among them, as it does in the server): each decoder
 * has its own copy of the model, so every turn starts with cold caches, and that costs CPU.
 */

import { availableParallelism } from "node:os";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import { SAMPLE_RATE } from "@earshot/protocol";
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
  /** CPU RTF per stream with `interleavedStreams` decoders taking turns on one thread. */
  readonly interleavedCpuRtf?: number;
  readonly interleavedStreams?: number;
}

/** Decoders sharing one thread in the interleaving measurement. */
const INTERLEAVED = 4;

const STREAM_OPTIONS = { language: "en", model: "pocketsphinx-en-us", wordTimestamps: true } as const;

export async function measureEngineLimit(clips: readonly Clip[]): Promise<EngineLimit> {
  // The server's engine, as `earshot serve` builds it, but with one worker decoding one stream.
  const engine = new PocketSphinxEngine({ workers: 1, decoderArgs: FAST_DECODER_ARGS });
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
    const interleavedCpuRtf = await decodeInterleaved(engine, clips);
    return {
      interleavedCpuRtf,
      interleavedStreams: INTERLEAVED,
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

/** Every stream decodes all clips (each in its own rotated order), fed 100 ms frames round-robin. */
async function decodeInterleaved(engine: PocketSphinxEngine, clips: readonly Clip[]): Promise<number> {
  const streams = await Promise.all(Array.from({ length: INTERLEAVED }, () => engine.openStream(STREAM_OPTIONS)));
  const reading = streams.map(async (stream) => {
    for await (const event of stream) if (event.type === "error") throw event.error;
  });
  const frames = streams.map((_, k) => clips.flatMap((_, i) => clips[(i + k * 7) % clips.length]?.frames ?? []));
  const cpuBefore = process.cpuUsage();
  let audioSeconds = 0;
  for (let i = 0; i < (frames[0]?.length ?? 0); i++) {
    for (const [k, stream] of streams.entries()) {
      const frame = frames[k]?.[i];
      if (!frame) continue;
      stream.push(new Int16Array(frame.buffer, frame.byteOffset, frame.length / 2));
      audioSeconds += frame.length / 2 / SAMPLE_RATE;
    }
  }
  await Promise.all(streams.map((stream) => stream.end()));
  await Promise.all(reading);
  const cpu = process.cpuUsage(cpuBefore);
  return (cpu.user + cpu.system) / 1e6 / audioSeconds;
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
