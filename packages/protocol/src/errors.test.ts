import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ERRORS, WARNINGS } from "./errors.js";

const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");

/** Rows of the first Markdown table whose header starts with `| <first> |`. */
function table(first: string): string[][] {
  const lines = doc.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`| ${first} |`));
  assert.ok(start >= 0, `docs/errors.md has a table headed "${first}"`);
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

describe("docs/errors.md", () => {
  it("lists every error code with its HTTP status, close code and retryability, and no others", () => {
    const rows = table("code");
    assert.deepEqual(rows.map((r) => r[0]).sort(), Object.keys(ERRORS).sort());
    for (const [code, http, close, retryable] of rows) {
      const spec = ERRORS[code as keyof typeof ERRORS];
      assert.equal(http, "httpStatus" in spec ? String(spec.httpStatus) : "", `${code} HTTP status`);
      assert.equal(close, "close" in spec ? String(spec.close) : "", `${code} close code`);
      assert.equal(retryable, spec.retryable ? "yes" : "no", `${code} retryable`);
    }
  });

  it("lists every warning code", () => {
    assert.deepEqual(
      table("warning")
        .map((r) => r[0])
        .sort(),
      Object.keys(WARNINGS).sort(),
    );
  });

  it("lists every close code used", () => {
    const documented = table("close").map((r) => Number(r[0]));
    for (const spec of Object.values(ERRORS)) {
      if ("close" in spec) assert.ok(documented.includes(spec.close), `close ${spec.close} documented`);
    }
  });
});
