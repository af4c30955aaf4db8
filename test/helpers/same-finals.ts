/**
 * Finals compared with a reference run's as issue 18's proofs compare them: word for word, and time
 * for time within what PocketSphinx itself varies by.
 */
import assert from "node:assert/strict";
import type { TranscriptMessage } from "@earshot/protocol";
import { summary } from "./sdk-run.js";

/**
 * A word boundary PocketSphinx may put one frame apart depending on what its pooled decoder decoded
 * before (docs/design/decoder-state.md, "Decoders that remember": ps-cards-001's "with" ends at
 * 220 ms on a used decoder, 230 ms on a fresh one), failover or not.
 */
export const FRAME_MS = 10;

export interface FinalsComparison {
  /** Times one frame from the reference's. */
  readonly frameApart: number;
  /** Segment starts (with their first word's start) later than the reference's (see `assertSameFinals`). */
  readonly laterStarts: string[];
}

/**
 * The same finals as `expected`: segment ids, texts and words exactly, every time within one frame,
 * with one exception. In an uninterrupted stream the VAD gate cuts the pause out of what the
 * decoder hears, and the first word after a pause can be given a start inside that pause, where
 * the previous utterance's audio ended (found here: "four queen of clubs" at 1978 ms, its audio
 * at 4000 ms, 220 ms after the previous final's last word); a stream continued from a checkpoint
 * in that pause has no previous audio to join, and gives the word its start in its own audio. So
 * the first segment after each of `continuedAtMs` (where the stream went on in a new decoder: a new
 * session, or a session another node took over) may start, with its first word, later than the
 * reference's, but no later than that word's end, which must match. Every other time is within a
 * frame.
 */
export function assertSameFinals(
  actual: readonly TranscriptMessage[],
  expected: readonly TranscriptMessage[],
  what: string,
  continuedAtMs: readonly number[] = [],
): FinalsComparison {
  const got = summary(actual);
  const want = summary(expected);
  const words = (finals: typeof got) =>
    finals.map((f) => ({ id: f.id, text: f.text, words: f.words?.map((w) => w.word) }));
  assert.deepEqual(words(got), words(want), what);
  let frameApart = 0;
  const laterStarts: string[] = [];
  const close = (ms: number, wanted: number, label: string) => {
    assert.ok(Math.abs(ms - wanted) <= FRAME_MS, `${what}: ${label} is ${ms} ms, ${wanted} ms in the reference`);
    if (ms !== wanted) frameApart += 1;
  };
  for (const [i, final] of got.entries()) {
    const reference = want[i];
    assert.ok(reference);
    const [first, ...rest] = final.words ?? [];
    const [referenceFirst, ...referenceRest] = reference.words ?? [];
    const label = `segment ${final.id}`;
    const firstAfterContinuation = continuedAtMs.some(
      (at) => final.endMs > at && (got[i - 1]?.endMs ?? Number.NEGATIVE_INFINITY) <= at,
    );
    if (firstAfterContinuation && first && referenceFirst && final.startMs > reference.startMs + FRAME_MS) {
      assert.ok(final.startMs <= first.startMs && first.startMs <= first.endMs, `${what}: ${label} start`);
      assert.ok(first.startMs > referenceFirst.startMs, `${what}: ${label} first word start`);
      laterStarts.push(`${what} ${label}: ${reference.startMs} → ${final.startMs} ms`);
    } else {
      close(final.startMs, reference.startMs, `${label} start`);
      if (first && referenceFirst) close(first.startMs, referenceFirst.startMs, `${label} word 0 start`);
    }
    if (first && referenceFirst) close(first.endMs, referenceFirst.endMs, `${label} word 0 end`);
    close(final.endMs, reference.endMs, `${label} end`);
    for (const [j, word] of rest.entries()) {
      const referenceWord = referenceRest[j];
      assert.ok(referenceWord);
      close(word.startMs, referenceWord.startMs, `${label} word ${j + 1} start`);
      close(word.endMs, referenceWord.endMs, `${label} word ${j + 1} end`);
    }
  }
  return { frameApart, laterStarts };
}
