/**
 * An SDK stream through the seeded fault-injection proxy, and the uninterrupted reference run of
 * the same audio, as the reliability tests compare them.
 */
import assert from "node:assert/strict";
import type { CloseResult, EarshotClientOptions } from "@earshot/client";
import { FAST_DECODER_ARGS, PocketSphinxEngine } from "@earshot/engine-pocketsphinx";
import type { Engine } from "@earshot/engines";
import { createServer, type EarshotServer } from "@earshot/server";
import { type ChaosOptions, type FaultCounts, FaultProxy, mulberry32 } from "@earshot/test-support";
import { VadGatedEngine } from "@earshot/vad";
import { type SdkRun, sendPaced, sleep, startRun } from "./sdk-run.js";

/** What `earshot serve` runs (packages/cli/src/engines.ts). */
export const shippedEngine = () =>
  new VadGatedEngine(new PocketSphinxEngine({ workers: 2, decoderArgs: FAST_DECODER_ARGS }));

/** An engine the fault-injection tests run under, with its seed and the server's decoder hold. */
export interface FaultEngine {
  readonly name: string;
  readonly create: () => Engine;
  readonly seed: number;
  readonly holdDecoderMs?: number;
}

/** A server on a loopback port for one `FaultEngine`, ready. */
export async function faultServer(
  { create, holdDecoderMs }: FaultEngine,
  key: string,
): Promise<{ server: EarshotServer; port: number; url: string }> {
  const server = createServer({
    engine: create(),
    apiKeys: [key],
    ...(holdDecoderMs === undefined ? {} : { holdDecoderMs }),
  });
  const { port, url } = await server.listen({ host: "127.0.0.1", port: 0 });
  await server.ready;
  return { server, port, url };
}

/** SDK options for these runs: fast reconnects with seeded jitter, word timestamps. */
export function chaosClientOptions(
  url: string,
  apiKey: string,
  seed: number,
  heartbeatTimeoutMs: number,
): EarshotClientOptions {
  return {
    url,
    apiKey,
    config: { language: "en", timestamp_granularity: "word" },
    reconnect: { baseDelayMs: 10, maxDelayMs: 100, random: mulberry32(seed) },
    heartbeatTimeoutMs,
    connectTimeoutMs: 2000,
    closeTimeoutMs: 60_000,
  };
}

/**
 * The reference: straight to the server, all audio at once, with the default heartbeat timeout.
 * `channels`: 2 for interleaved stereo `speech` on one connection.
 */
export async function uninterruptedRun(
  url: string,
  apiKey: string,
  speech: Int16Array,
  channels: 1 | 2 = 1,
): Promise<SdkRun> {
  const run = startRun({ ...chaosClientOptions(url, apiKey, 1, 5000), channels });
  await run.client.connect();
  await sendPaced(run, speech, { speed: Number.POSITIVE_INFINITY, channels });
  const result = await run.client.close();
  assert.equal(result.code, 1000);
  assert.deepEqual(
    run.states.filter((s) => s.to === "reconnecting"),
    [],
    "the reference run had no drops",
  );
  return run;
}

export interface ChaosRunOptions {
  readonly serverPort: number;
  readonly apiKey: string;
  readonly seed: number;
  readonly speech: Int16Array;
  /** Times faster than real time. */
  readonly speed: number;
  readonly chaos: ChaosOptions;
  /** Cuts that must happen, spread over the audio: the sender waits (without sending) for them. */
  readonly minCuts: number;
  readonly heartbeatTimeoutMs: number;
  /** 2: `speech` is interleaved stereo, sent on one connection (`channels: 2`). Default 1. */
  readonly channels?: 1 | 2;
}

export interface ChaosRun {
  readonly run: SdkRun;
  readonly result: CloseResult;
  readonly counts: FaultCounts;
}

/** Streams `speech` through the proxy, chaos on once the first connection is up, through close(). */
export async function chaosRun(options: ChaosRunOptions): Promise<ChaosRun> {
  const proxy = new FaultProxy({ target: { host: "127.0.0.1", port: options.serverPort }, seed: options.seed });
  const channels = options.channels ?? 1;
  const run = startRun({
    ...chaosClientOptions(await proxy.listen(), options.apiKey, options.seed, options.heartbeatTimeoutMs),
    channels,
  });
  await run.client.connect(); // the first connection is not retried: chaos starts once it is up
  proxy.startChaos(options.chaos);
  // On a loaded machine reconnects take longer and fewer cuts fit into the stream: the sender waits
  // (without sending) until the cuts keep pace, so every run has its cuts spread over the audio.
  const pieces = Math.ceil(options.speech.length / (1600 * channels));
  await sendPaced(run, options.speech, {
    speed: options.speed,
    channels,
    before: async (index) => {
      const due = Math.floor((options.minCuts * index) / (pieces - 1));
      for (let waited = 0; proxy.counts.cuts < due && waited < 20_000; waited += 20) await sleep(20);
    },
  });
  const result = await run.client.close();
  const counts = proxy.counts;
  await proxy.close();
  return { run, result, counts };
}
