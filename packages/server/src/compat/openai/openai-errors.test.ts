import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { COMPATIBILITY_MD, markdownTable } from "../doc-table.test.helper.js";
import { OPENAI_ERRORS } from "./openai-errors.js";

describe("docs/compatibility.md", () => {
  it("lists every OpenAI-surface error code with its status and type, and no others", () => {
    const rows = markdownTable(COMPATIBILITY_MD, "| code | HTTP | type |");
    assert.deepEqual(rows.map((r) => r[0]).sort(), Object.keys(OPENAI_ERRORS).sort());
    for (const [code, status, type] of rows) {
      const spec = OPENAI_ERRORS[code as keyof typeof OPENAI_ERRORS];
      assert.equal(status, String(spec.status), `${code} status`);
      assert.equal(type, spec.type, `${code} type`);
    }
  });
});
