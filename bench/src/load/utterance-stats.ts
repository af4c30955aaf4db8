/**
 * Per-utterance latencies and WER over a time window, from what load streams played and heard.
 * Definitions follow the single-stream bench (streaming-bench.ts): *final latency* = arrival of the
 * clip's last non-empty final − the wall time at which its end of speech was due to be captured
 * (`t0 + position / speed`); *first partial* = arrival of the first non-empty partial − the same for
 * its speech onset. A clip whose speech ended in the window but got no final counts as an infinite
 * latency (the server lost it), so it can only push the percentiles up.
 */

import { type WerResult, wer } from "@earshot/test-support";
import { percentile } from "../stats.js";
import type { LoadStream } from "./load-stream.js";

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export interface UtteranceStats {
  /** Clips whose end of speech was due in the window. */
  readonly utterances: number;
  readonly finalMs: Percentiles;
  readonly firstPartialMs: Percentiles;
  /** Test engine only: final arrival − send time of the frame that made it due. */
  readonly addedMs: Percentiles;
  /** Of `utterances`: no non-empty final (counted as infinite latency above). */
  readonly missingFinals: number;
  /** Clips whose onset was due in the window but that never got a non-empty partial (left out above). */
  readonly missingPartials: number;
  /** Over the clips played entirely inside the window. */
  readonly wer: WerResult;
  /** Final latencies by clip id (ms, rounded; null = no final), to see which files make the tail. */
  readonly finalMsByClip: Readonly<Record<string, readonly (number | null)[]>>;
  /** Each utterance's end of speech (s into the window) and its final's latency (ms; null: none), in order. */
  readonly finalTimeline: readonly (readonly [number, number | null])[];
}

/** A window of wall time (`performance.now()` ms), start included, end excluded. */
export interface Window {
  readonly from: number;
  readonly to: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
  };
}

export function utteranceStats(streams: readonly LoadStream[], window: Window): UtteranceStats {
  const inWindow = (time: number) => time >= window.from && time < window.to;
  const finalMs: number[] = [];
  const firstPartialMs: number[] = [];
  const addedMs: number[] = [];
  const pairs: [string, string][] = [];
  let missingFinals = 0;
  let missingPartials = 0;
  const finalMsByClip: Record<string, (number | null)[]> = {};
  const finalTimeline: [number, number | null][] = [];
  for (const stream of streams) {
    for (const played of stream.played) {
      const onsetAt = stream.wallTime(played.startMs + played.clip.onsetMs);
      const endAt = stream.wallTime(played.startMs + played.clip.endMs);
      if (inWindow(endAt)) {
        if (played.lastFinalAt === undefined) missingFinals += 1;
        finalMs.push(played.lastFinalAt === undefined ? Number.POSITIVE_INFINITY : played.lastFinalAt - endAt);
        const byClip = finalMsByClip[played.clip.id] ?? [];
        byClip.push(played.lastFinalAt === undefined ? null : Math.round(played.lastFinalAt - endAt));
        finalMsByClip[played.clip.id] = byClip;
        finalTimeline.push([
          Math.round((endAt - window.from) / 100) / 10,
          played.lastFinalAt === undefined ? null : Math.round(played.lastFinalAt - endAt),
        ]);
      }
      if (inWindow(onsetAt)) {
        if (played.firstPartialAt === undefined) missingPartials += 1;
        else firstPartialMs.push(played.firstPartialAt - onsetAt);
      }
      for (const { sentAt, latencyMs } of played.added) if (inWindow(sentAt)) addedMs.push(latencyMs);
      const startAt = stream.wallTime(played.startMs);
      const regionEndAt = stream.wallTime(played.regionEndMs);
      if (inWindow(startAt) && regionEndAt <= window.to) pairs.push([played.clip.text, played.finals.join(" ")]);
    }
  }
  return {
    utterances: finalMs.length,
    finalMs: percentiles(finalMs),
    firstPartialMs: percentiles(firstPartialMs),
    addedMs: percentiles(addedMs),
    missingFinals,
    missingPartials,
    wer: wer(pairs),
    finalMsByClip,
    finalTimeline: finalTimeline.sort((a, b) => a[0] - b[0]),
  };
}

/** Speech (`speechBounds`) / all audio, over the clips (with the silence after them) played entirely inside the window. */
export function talkRatioIn(streams: readonly LoadStream[], window: Window): number {
  let speechMs = 0;
  let totalMs = 0;
  for (const stream of streams) {
    for (const played of stream.played) {
      if (stream.wallTime(played.startMs) < window.from || stream.wallTime(played.regionEndMs) > window.to) continue;
      speechMs += played.clip.endMs - played.clip.onsetMs;
      totalMs += played.regionEndMs - played.startMs;
    }
  }
  return totalMs > 0 ? speechMs / totalMs : Number.NaN;
}
