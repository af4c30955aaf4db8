/** Number formatting shared by the report and the console summary. */

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

export function ms(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "—" : `${Math.round(value)} ms`;
}

export function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

/** A markdown table; cells may not contain `|` (escaped here) or newlines. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
