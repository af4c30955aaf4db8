/** Word error rate for engine tests and measurements: normalized words, word-level edit distance. */

/** Lowercase, drop punctuation except apostrophes, split on whitespace. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s]/gu, " ")
    .split(/\s+/)
    .filter((word) => word !== "");
}

/** Minimum substitutions + deletions + insertions turning `hypothesis` into `reference`. */
export function wordEditDistance(reference: readonly string[], hypothesis: readonly string[]): number {
  let previous = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const current = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1));
    }
    previous = current;
  }
  return previous[hypothesis.length] ?? 0;
}

/** Corpus WER: total edits over total reference words, for (reference, hypothesis) text pairs. */
export function wordErrorRate(pairs: ReadonlyArray<readonly [reference: string, hypothesis: string]>): number {
  let edits = 0;
  let words = 0;
  for (const [reference, hypothesis] of pairs) {
    const ref = normalizeWords(reference);
    edits += wordEditDistance(ref, normalizeWords(hypothesis));
    words += ref.length;
  }
  return words === 0 ? 0 : edits / words;
}
