/** Markdown for the bench reports: the one table helper, and the cell formats every report shares. */
import type { WerResult } from "@earshot/test-support";

/** A markdown table; cells may not contain newlines, and a `|` in one is escaped here. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

export function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

/** A latency: "—" when there is none, "lost" when infinite (a final that never came). */
export function ms(value: number | null | undefined, digits = 0): string {
  if (value === undefined || value === null || Number.isNaN(value)) return "—";
  if (value === Number.POSITIVE_INFINITY) return "lost";
  return `${digits === 0 ? Math.round(value) : value.toFixed(digits)} ms`;
}

/** Latencies side by side, as the tables show percentiles: "264 ms / 594 ms". */
export function msList(values: readonly (number | null | undefined)[], digits = 0): string {
  return values.map((value) => ms(value, digits)).join(" / ");
}

/** "27.5% (55/200)"; "—" when there were no reference words. */
export function werCell({ wer, errors, words }: WerResult): string {
  return words === 0 ? "—" : `${percent(wer)} (${errors}/${words})`;
}

/** The 1, 5 and 15 minute load averages: "0.44 / 1.10 / 1.39". */
export function loadAverages(values: readonly number[]): string {
  return values.map((value) => value.toFixed(2)).join(" / ");
}
