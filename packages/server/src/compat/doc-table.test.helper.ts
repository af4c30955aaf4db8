/** What the compatibility surfaces' doc tests share: docs/compatibility.md and its Markdown tables. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

export const COMPATIBILITY_MD = readFileSync(new URL("../../../../docs/compatibility.md", import.meta.url), "utf8");

/**
 * The rows of the first table in `text` whose header line starts with `header`, as trimmed cells
 * without backticks (the cells between the outer pipes).
 */
export function markdownTable(text: string, header: string): string[][] {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.startsWith(header));
  assert.ok(start >= 0, `docs/compatibility.md has the table "${header}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/`/g, "")),
    );
  }
  return rows;
}
