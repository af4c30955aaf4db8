/**
 * The order of a decoding round (host.ts): who takes a turn, and in what order.
 *
 * 1. Live streams finishing an utterance (a flush is queued behind their audio): their final is
 *    what a user waits for (`FINISHING_SAMPLES`).
 * 2. The other live streams.
 * 3. Batch streams (file transcriptions, `StreamOptions.batch`), finishing ones first: all of them
 *    while no live stream has work; otherwise **one**, in rotation. So however many files are being
 *    transcribed, together they take one turn per round, as one more live stream would: a live
 *    stream waits at most one batch quantum for them, and files still progress under full load.
 *
 * Within each group, streams keep the order they opened in.
 */

export interface RoundStream {
  readonly batch: boolean;
  /** A flush or the end is queued: its utterance has ended. */
  readonly finishing: boolean;
  /** Anything is queued. */
  readonly hasWork: boolean;
}

export interface RoundOrder<T> {
  readonly turns: readonly T[];
  /** Batch streams with work that wait for a later round. */
  readonly deferred: number;
}

/** `cursor` counts the rounds in which batch streams were limited to one (it picks whose turn it is). */
export function roundOrder<T extends RoundStream>(streams: readonly T[], cursor: number): RoundOrder<T> {
  const firstFinishing = (group: readonly T[]) => [
    ...group.filter((s) => s.finishing),
    ...group.filter((s) => !s.finishing),
  ];
  const live = firstFinishing(streams.filter((s) => !s.batch));
  const batch = firstFinishing(streams.filter((s) => s.batch && s.hasWork));
  if (batch.length <= 1 || !live.some((s) => s.hasWork)) return { turns: [...live, ...batch], deferred: 0 };
  const chosen = batch[cursor % batch.length] as T;
  return { turns: [...live, chosen], deferred: batch.length - 1 };
}
