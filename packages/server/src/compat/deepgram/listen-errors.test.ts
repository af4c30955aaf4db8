import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { COMPATIBILITY_MD, markdownTable } from "../doc-table.test.helper.js";
import { DEEPGRAM_CLOSE_ERRORS, DEEPGRAM_UPGRADE_ERRORS } from "./listen-errors.js";

const table = (header: string) => markdownTable(COMPATIBILITY_MD, header);

describe("docs/compatibility.md, Deepgram", () => {
  it("lists every upgrade refusal with its HTTP status and err_code, and no others", () => {
    const rows = table("| code | HTTP | err_code |");
    assert.deepEqual(rows.map((r) => r[0]).sort(), Object.keys(DEEPGRAM_UPGRADE_ERRORS).sort());
    for (const [code, status, errCode] of rows) {
      const spec = DEEPGRAM_UPGRADE_ERRORS[code as keyof typeof DEEPGRAM_UPGRADE_ERRORS];
      assert.equal(status, String(spec.status), `${code} status`);
      assert.equal(errCode, spec.errCode, `${code} err_code`);
    }
  });

  it("lists every close with its code and reason, and no others", () => {
    const rows = table("| code | close | reason |");
    assert.deepEqual(rows.map((r) => r[0]).sort(), Object.keys(DEEPGRAM_CLOSE_ERRORS).sort());
    for (const [code, close, reason] of rows) {
      const spec = DEEPGRAM_CLOSE_ERRORS[code as keyof typeof DEEPGRAM_CLOSE_ERRORS];
      assert.equal(close, String(spec.close), `${code} close`);
      assert.equal(reason, spec.reason, `${code} reason`);
    }
  });
});
