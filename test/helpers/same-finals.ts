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

/**
 * The same finals as `expected`: segment ids, texts and words exactly, every time within one frame
 * (the first word after a pause included: the VAD gate's time map places it where it is heard, in
 * an uninterrupted stream as in one continued from a checkpoint in that pause). Returns how many
 * times are a frame apart.
 */
export function assertSameFinals(
  actual: readonly TranscriptMessage[],
  expected: readonly TranscriptMessage[],
  what: string,
): number {
  const got = summary(actual);
  const want = summary(expected);
  const words = (finals: typeof got) =>
    finals.map((f) => ({ id: f.id, text: f.text, words: f.words?.map((w) => w.word) }));
  assert.deepEqual(words(got), words(want), what);
  let frameApart = 0;
  const close = (ms: number, wanted: number, label: string) => {
    assert.ok(Math.abs(ms - wanted) <= FRAME_MS, `${what}: ${label} is ${ms} ms, ${wanted} ms in the reference`);
    if (ms !== wanted) frameApart += 1;
  };
  for (const [i, final] of got.entries()) {
    const reference = want[i];
    assert.ok(reference);
    const label = `segment ${final.id}`;
    close(final.startMs, reference.startMs, `${label} start`);
    close(final.endMs, reference.endMs, `${label} end`);
    const referenceWords = reference.words ?? [];
    for (const [j, word] of (final.words ?? []).entries()) {
      const referenceWord = referenceWords[j];
      assert.ok(referenceWord);
      close(word.startMs, referenceWord.startMs, `${label} word ${j} start`);
      close(word.endMs, referenceWord.endMs, `${label} word ${j} end`);
    }
  }
  return frameApart;
}
