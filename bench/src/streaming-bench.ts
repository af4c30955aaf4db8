/**
 * Streaming as a user sees it: a real server (in-process, loopback, port 0) and the SDK, one stream
 * at a time, audio paced like a live microphone. A chunk is sent once its last sample would have
 * been captured (t0 + end of chunk); 1500 ms of paced silence follows the speech, then `close()`.
 * Times are `performance.now()` on the client side, as the user would experience them.
 */
import { type AudioMode, CHUNKING_PRESETS, type Chunking, type ChunkingPreset, EarshotClient } from "@earshot/client";
import { PocketSphinxEngine, type PocketSphinxOptions } from "@earshot/engine-pocketsphinx";
import type { Engine } from "@earshot/engines";
import { SAMPLES_PER_MS } from "@earshot/protocol";
import { createServer } from "@earshot/server";
import { loadPcm, repeatedWords, speechBounds, type Utterance, type WerResult, wer } from "@earshot/test-support";
import { VadGatedEngine, type VadGateOptions } from "@earshot/vad";

export interface StreamingSetup {
  readonly label: string;
  readonly mode: AudioMode;
  readonly chunking: ChunkingPreset | Chunking;
}

export const STREAMING_SETUPS: readonly StreamingSetup[] = [
  { label: "binary 20 ms (low-latency, SDK default)", mode: "binary", chunking: "low-latency" },
  { label: "binary 250 ms", mode: "binary", chunking: { chunkMs: 250, overlapMs: 0 } },
  { label: "seed hex 500 ms + 100 ms overlap (seed-en)", mode: "seed", chunking: "seed-en" },
  { label: "seed hex 800 ms (seed-zh sizes, en)", mode: "seed", chunking: { chunkMs: 800, overlapMs: 0 } },
];

export interface StreamedFile {
  readonly id: string;
  readonly seconds: number;
  readonly hypothesis: string;
  /** Last non-empty final's arrival minus end of speech; undefined when no final had text. */
  readonly finalLatencyMs: number | undefined;
  /** First non-empty partial's arrival minus speech onset; undefined when no partial came. */
  readonly firstPartialLatencyMs: number | undefined;
  /**
   * Audio the client had sent past the end of speech when the last final arrived: how much of the
   * pause the server had to hear (VAD plus chunking) before the final, as opposed to processing time.
   */
  readonly audioPastSpeechEndMs: number | undefined;
  /** Speech onset and end in the clip (energy-based), ms. */
  readonly speech: { readonly onsetMs: number; readonly endMs: number };
  /** Stream times of the last non-empty final, as the engine placed it. */
  readonly lastSegment: { readonly startMs: number; readonly endMs: number } | undefined;
  readonly partials: number;
  /** True when the last final came before `close()` (from the pause), not from the flush. */
  readonly finalBeforeClose: boolean;
  /** Words repeated back to back in the hypothesis but not in the reference. */
  readonly repeatedWords: readonly string[];
  /** How late the pacing loop sent its most delayed chunk. */
  readonly maxSendLagMs: number;
  /** `send()` calls that returned false (audio queued behind the socket). */
  readonly backpressured: number;
  readonly problems: readonly string[];
}

export interface StreamingBench {
  readonly setup: StreamingSetup;
  readonly chunkMs: number;
  readonly overlapMs: number;
  readonly wer: WerResult;
  readonly files: readonly StreamedFile[];
}

const TRAILING_SILENCE_MS = 1_500;
const API_KEY = "bench-key";

/** Runs every setup over the eval set against one server (one engine worker, one stream at a time). */
export async function benchStreaming(
  utterances: readonly Utterance[],
  setups: readonly StreamingSetup[],
  onFile: (setup: StreamingSetup, file: StreamedFile) => void = () => {},
  engineOptions: PocketSphinxOptions & {
    readonly vad?: VadGateOptions;
    readonly engine?: Engine;
    readonly model?: string;
  } = {},
): Promise<StreamingBench[]> {
  const { vad, engine: given, model, ...psOptions } = engineOptions;
  const engine = given ?? pocketsphinxEngine(psOptions, vad);
  const server = createServer({ engine, apiKeys: [API_KEY] });
  const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
  await server.ready;
  try {
    const warmUp = utterances[0];
    if (warmUp && setups[0]) await streamFile(url, setups[0], warmUp, model);
    const results: StreamingBench[] = [];
    for (const setup of setups) {
      const files: StreamedFile[] = [];
      for (const utterance of utterances) {
        const file = await streamFile(url, setup, utterance, model);
        onFile(setup, file);
        files.push(file);
      }
      const byId = new Map(files.map((f) => [f.id, f.hypothesis]));
      const chunking = typeof setup.chunking === "string" ? CHUNKING_PRESETS[setup.chunking] : setup.chunking;
      results.push({
        setup,
        chunkMs: chunking.chunkMs,
        overlapMs: chunking.overlapMs ?? 0,
        wer: wer(utterances.map((u) => [u.text, byId.get(u.id) ?? ""])),
        files,
      });
    }
    return results;
  } finally {
    await server.close();
  }
}

function pocketsphinxEngine(options: PocketSphinxOptions, vad: VadGateOptions | undefined): Engine {
  const pocketsphinx = new PocketSphinxEngine({ workers: 1, ...options });
  return vad ? new VadGatedEngine(pocketsphinx, vad) : pocketsphinx;
}

async function streamFile(
  url: string,
  setup: StreamingSetup,
  utterance: Utterance,
  model: string | undefined,
): Promise<StreamedFile> {
  const pcm = loadPcm(utterance.path);
  const bounds = speechBounds(pcm);
  const signal = new Int16Array(pcm.length + TRAILING_SILENCE_MS * SAMPLES_PER_MS);
  signal.set(pcm);

  const client = new EarshotClient({
    url,
    apiKey: API_KEY,
    config: { language: "en", ...(model === undefined ? {} : { model }) },
    mode: setup.mode,
    chunking: setup.chunking,
  });
  const finals: string[] = [];
  const problems: string[] = [];
  let firstPartialAt: number | undefined;
  let lastFinalAt: number | undefined;
  let lastSegment: StreamedFile["lastSegment"];
  let sentMs = 0;
  let sentMsAtLastFinal = 0;
  let partials = 0;
  client.on("partial", (t) => {
    if (t.text === "") return;
    partials += 1;
    firstPartialAt ??= performance.now();
  });
  client.on("final", (t) => {
    if (t.text === "") return;
    lastFinalAt = performance.now();
    lastSegment = { startMs: t.start_ms, endMs: t.end_ms };
    sentMsAtLastFinal = sentMs;
    finals.push(t.text);
  });
  client.on("error", (e) => problems.push(`error ${e.code}: ${e.message}`));
  client.on("warning", (w) => problems.push(`warning ${w.code}: ${w.message}`));
  await client.connect();

  const chunkSamples = client.chunking.chunkMs * SAMPLES_PER_MS;
  let maxSendLagMs = 0;
  let backpressured = 0;
  const t0 = performance.now();
  for (let start = 0; start < signal.length; start += chunkSamples) {
    const end = Math.min(start + chunkSamples, signal.length);
    const capturedAt = t0 + end / SAMPLES_PER_MS;
    await sleepUntil(capturedAt);
    maxSendLagMs = Math.max(maxSendLagMs, performance.now() - capturedAt);
    if (!client.send(signal.subarray(start, end))) backpressured += 1;
    sentMs = end / SAMPLES_PER_MS;
  }
  const closeCalledAt = performance.now();
  const closed = await client.close();
  if (closed.code !== 1000) problems.push(`closed ${closed.code} ${closed.reason}`);

  const hypothesis = finals.join(" ");
  return {
    id: utterance.id,
    seconds: utterance.seconds,
    hypothesis,
    finalLatencyMs: lastFinalAt === undefined ? undefined : lastFinalAt - (t0 + bounds.endMs),
    firstPartialLatencyMs: firstPartialAt === undefined ? undefined : firstPartialAt - (t0 + bounds.onsetMs),
    audioPastSpeechEndMs: lastFinalAt === undefined ? undefined : sentMsAtLastFinal - bounds.endMs,
    speech: bounds,
    lastSegment,
    partials,
    finalBeforeClose: lastFinalAt !== undefined && lastFinalAt < closeCalledAt,
    repeatedWords: extraRepeats(utterance.text, hypothesis),
    maxSendLagMs,
    backpressured,
    problems,
  };
}

function sleepUntil(time: number): Promise<void> {
  const wait = time - performance.now();
  return wait <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, wait));
}

/** Back-to-back repeats in the hypothesis beyond those the reference itself has. */
function extraRepeats(reference: string, hypothesis: string): string[] {
  const allowed = repeatedWords(reference);
  return repeatedWords(hypothesis).filter((word) => {
    const at = allowed.indexOf(word);
    if (at === -1) return true;
    allowed.splice(at, 1);
    return false;
  });
}
