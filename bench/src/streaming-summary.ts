/** One row of numbers per streaming setup: latency percentiles over the files, counts, anomalies. */

import { normalizeWords } from "@earshot/test-support";
import type { EngineBench } from "./engine-bench.js";
import { percentile, sum } from "./stats.js";
import type { StreamingBench } from "./streaming-bench.js";

export interface StreamingSummary {
  readonly bench: StreamingBench;
  readonly finalP50Ms: number;
  readonly finalP95Ms: number;
  readonly firstPartialP50Ms: number;
  readonly firstPartialP95Ms: number;
  /** p50 of the audio sent past the end of speech when the last final arrived. */
  readonly audioPastSpeechEndP50Ms: number;
  readonly partials: number;
  /** Files whose last final came before `close()`, i.e. from the pause rather than the flush. */
  readonly finalsBeforeClose: number;
  /** Files with no non-empty final at all. */
  readonly filesWithoutFinal: number;
  readonly repeatedWords: readonly string[];
  /** Files whose streamed transcript differs from the engine-alone transcript. */
  readonly differsFromEngine: readonly string[];
  readonly hypothesisWords: number;
  readonly maxSendLagMs: number;
  readonly backpressured: number;
  readonly problems: readonly string[];
}

export function summarizeStreaming(bench: StreamingBench, engine: EngineBench): StreamingSummary {
  const { files } = bench;
  const defined = (values: readonly (number | undefined)[]) => values.filter((v): v is number => v !== undefined);
  const finals = defined(files.map((f) => f.finalLatencyMs));
  const firstPartials = defined(files.map((f) => f.firstPartialLatencyMs));
  const engineText = new Map(engine.files.map((f) => [f.id, normalizeWords(f.hypothesis).join(" ")]));
  return {
    bench,
    finalP50Ms: percentile(finals, 50),
    finalP95Ms: percentile(finals, 95),
    firstPartialP50Ms: percentile(firstPartials, 50),
    firstPartialP95Ms: percentile(firstPartials, 95),
    audioPastSpeechEndP50Ms: percentile(defined(files.map((f) => f.audioPastSpeechEndMs)), 50),
    partials: sum(files.map((f) => f.partials)),
    finalsBeforeClose: files.filter((f) => f.finalBeforeClose).length,
    filesWithoutFinal: files.length - finals.length,
    repeatedWords: files.flatMap((f) => f.repeatedWords.map((w) => `${f.id}: "${w} ${w}"`)),
    differsFromEngine: files
      .filter((f) => normalizeWords(f.hypothesis).join(" ") !== engineText.get(f.id))
      .map((f) => f.id),
    hypothesisWords: sum(files.map((f) => normalizeWords(f.hypothesis).length)),
    maxSendLagMs: Math.max(0, ...files.map((f) => f.maxSendLagMs)),
    backpressured: sum(files.map((f) => f.backpressured)),
    problems: files.flatMap((f) => f.problems.map((p) => `${f.id}: ${p}`)),
  };
}

/** Files whose transcript is not the same (normalized) under every streaming setup. */
export function filesDifferingAcrossSetups(streaming: readonly StreamingSummary[]): string[] {
  const transcripts = new Map<string, Set<string>>();
  for (const s of streaming) {
    for (const f of s.bench.files) {
      const seen = transcripts.get(f.id) ?? new Set<string>();
      seen.add(normalizeWords(f.hypothesis).join(" "));
      transcripts.set(f.id, seen);
    }
  }
  return [...transcripts].filter(([, seen]) => seen.size > 1).map(([id]) => id);
}
