import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { OPENAI_ERRORS } from "./openai-errors.js";

const doc = readFileSync(new URL("../../../../../docs/compatibility.md", import.meta.url), "utf8");

describe("docs/compatibility.md", () => {
  it("lists every OpenAI-surface error code with its status and type, and no others", () => {
    const lines = doc.split("\n");
    const start = lines.findIndex((line) => line.startsWith("| code | HTTP | type |"));
    assert.ok(start >= 0, "docs/compatibility.md has the OpenAI error table");
    const rows: string[][] = [];
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith("|")) break;
      rows.push(
        line
          .split("|")
          .slice(1, 4)
          .map((cell) => cell.trim().replace(/`/g, "")),
      );
    }
    assert.deepEqual(rows.map((r) => r[0]).sort(), Object.keys(OPENAI_ERRORS).sort());
    for (const [code, status, type] of rows) {
      const spec = OPENAI_ERRORS[code as keyof typeof OPENAI_ERRORS];
      assert.equal(status, String(spec.status), `${code} status`);
      assert.equal(type, spec.type, `${code} type`);
    }
  });
});
