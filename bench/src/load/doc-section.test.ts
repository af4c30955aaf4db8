import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { replaceSection } from "./doc-section.js";
import { stagger } from "./load-step.js";

test("replaceSection appends once, then replaces only its own block", () => {
  const path = join(mkdtempSync(join(tmpdir(), "earshot-doc-")), "bench.md");
  writeFileSync(path, "# Benchmarks\n\nhand-written text\n");
  replaceSection(path, "load", "## Load\n\nfirst");
  replaceSection(path, "long", "## Long\n\nsecond");
  replaceSection(path, "load", "## Load\n\nthird");
  const text = readFileSync(path, "utf8");
  assert.ok(text.startsWith("# Benchmarks\n\nhand-written text\n"));
  assert.ok(!text.includes("first"));
  assert.ok(text.indexOf("third") < text.indexOf("second"), "the replaced block stays where it was");
  assert.equal(text.match(/<!-- load:begin/g)?.length, 1);
});

test("stagger spreads start times over a second and frame phases over 100 ms", () => {
  for (const n of [1, 4, 10, 1000]) {
    const offsets = Array.from({ length: n }, (_, k) => stagger(k, n));
    assert.ok(offsets.every((o) => o >= 0 && o < 1000));
    const phases = new Set(offsets.map((o) => Math.floor(o % 100)));
    assert.equal(phases.size, Math.min(n, 100), `n=${n}: distinct phases`);
  }
});
