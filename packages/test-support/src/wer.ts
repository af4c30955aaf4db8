/**
 * Word error rate, normalized like ../shared/tools/wer.py (lowercase; everything but letters, digits
 * and apostrophes becomes a space), so earshot's numbers compare with the seed's tools.
 */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replaceAll("’", "'")
    .replace(/[^a-z0-9' ]+/g, " ")
    .split(" ")
    .filter(Boolean);
}

/** Word-level Levenshtein distance. */
export function wordEdits(reference: readonly string[], hypothesis: readonly string[]): number {
  let row = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const next = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitution = (row[j - 1] ?? 0) + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, substitution));
    }
    row = next;
  }
  return row[hypothesis.length] ?? 0;
}

export interface WerResult {
  readonly errors: number;
  readonly words: number;
  /** errors / words, 0..∞ */
  readonly wer: number;
}

export function wer(pairs: readonly (readonly [reference: string, hypothesis: string])[]): WerResult {
  let errors = 0;
  let words = 0;
  for (const [reference, hypothesis] of pairs) {
    const ref = normalizeWords(reference);
    errors += wordEdits(ref, normalizeWords(hypothesis));
    words += ref.length;
  }
  return { errors, words, wer: words === 0 ? 0 : errors / words };
}

/** True when some word appears twice in a row, the symptom of a chunk edge decoded twice. */
export function repeatedWords(text: string): string[] {
  const words = normalizeWords(text);
  return words.filter((word, i) => i > 0 && words[i - 1] === word);
}
