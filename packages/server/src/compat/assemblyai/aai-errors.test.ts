import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { COMPATIBILITY_MD, markdownTable } from "../doc-table.test.helper.js";
import { AAI_ERRORS } from "./aai-errors.js";
import { IGNORED, REFUSED } from "./aai-params.js";

const section = COMPATIBILITY_MD.slice(COMPATIBILITY_MD.indexOf("## AssemblyAI: streaming v3"));
const table = (header: string) => markdownTable(section, header);

describe("docs/compatibility.md, AssemblyAI", () => {
  it("is the last section", () => {
    assert.ok(section.length > 0 && !section.slice(3).includes("\n## "), "AssemblyAI: streaming v3 ends the file");
  });

  it("lists every AssemblyAI-surface error with its close code and reason, and no others", () => {
    const rows = table("| error | close | reason |");
    assert.deepEqual(rows.map((r) => r[0]).sort(), Object.keys(AAI_ERRORS).sort());
    for (const [code, close, reason] of rows) {
      const spec = AAI_ERRORS[code as keyof typeof AAI_ERRORS];
      assert.equal(close, String(spec.closeCode), `${code} close code`);
      assert.equal(reason, spec.reason, `${code} reason`);
    }
  });

  it("names every parameter accepted and ignored, and every one refused", () => {
    const rows = table("| feature | support |");
    const ignoredRow = rows.find((r) => r[1]?.startsWith("**Accepted and ignored:**"))?.[0] ?? "";
    const refusedRow = rows.find((r) => r[0]?.startsWith("redact_pii"))?.[0] ?? "";
    for (const name of IGNORED) assert.ok(ignoredRow.split(/[ ,()]+/).includes(name), `${name} is listed as ignored`);
    for (const name of REFUSED) assert.ok(refusedRow.split(/[ ,]+/).includes(name), `${name} is listed as refused`);
  });
});
