#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist, bench/dist and test/dist, **/*.test.js) with
// node's test runner. Node 20's runner takes no globs, hence this list.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (name.endsWith(".test.js")) yield path;
  }
}

const roots = [
  ...readdirSync("packages").map((p) => join("packages", p, "dist")),
  join("bench", "dist"),
  join("test", "dist"),
].filter((dir) => {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
});
const only = process.argv.slice(2);
const files = roots
  .flatMap((root) => [...walk(root)])
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error("no test files found: run `npm run build` first");
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
