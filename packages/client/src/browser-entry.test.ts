/**
 * The browser entry must not pull in anything Node-only: walks the import graph of
 * dist/browser.js (following relative imports and @earshot/* workspace packages) and fails on
 * `node:` modules, Node built-ins, `ws`, or any use of `Buffer`/`process`/`require`. The capture
 * worklet's graph must not even use the window (worklet scope has none), and nothing may fall back
 * to the deprecated ScriptProcessorNode.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const IMPORT =
  /(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm;
/** Uses of Node globals; `process(…) {` is a method definition (the worklet's), not a use. */
const NODE_GLOBALS = /\b(Buffer|process|require|__dirname|__filename|global)\s*(?:\.|\((?![^)]*\)\s*\{))/g;

/** The package.json of `name`, found the way Node does: node_modules folders up the tree. */
function findPackageJson(name: string): string {
  for (let dir = here; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name, "package.json");
    if (existsSync(candidate)) return candidate;
    assert.notEqual(dirname(dir), dir, `cannot find ${name}`);
  }
}

/** Resolves a workspace package's entry the way a bundler with the "browser" condition would. */
function resolvePackage(specifier: string): string {
  const [scope, name, ...rest] = specifier.split("/");
  const packageJsonPath = findPackageJson(`${scope}/${name}`);
  const packageJson = JSON.parse(readFileSync(packageJsonPath, "utf8")) as {
    exports?: Record<string, { browser?: string; default?: string }>;
  };
  const subpath = rest.length ? `./${rest.join("/")}` : ".";
  const entry = packageJson.exports?.[subpath];
  const target = entry?.browser ?? entry?.default;
  assert.ok(target, `${specifier} has no export for ${subpath}`);
  return join(dirname(packageJsonPath), target);
}

/** A file's code without its comments. */
const code = (file: string): string => readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, "");

interface Graph {
  readonly files: string[];
  /** Imports of packages other than @earshot/* (not walked). */
  readonly bare: Set<string>;
  /** `file: Global` for every use of a Node-only global. */
  readonly nodeGlobals: string[];
}

function walk(entry: string): Graph {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const nodeGlobals: string[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const body = code(file);
    for (const use of body.matchAll(NODE_GLOBALS)) nodeGlobals.push(`${file}: ${use[1]}`);
    for (const match of body.matchAll(IMPORT)) {
      const specifier = (match[1] ?? match[2] ?? match[3]) as string;
      if (specifier.startsWith(".")) queue.push(resolve(dirname(file), specifier));
      else if (specifier.startsWith("@earshot/")) queue.push(resolvePackage(specifier));
      else bare.add(specifier);
    }
  }
  return { files: [...seen], bare, nodeGlobals };
}

test("the browser entry's import graph has no Node-only modules or globals", () => {
  const { files, bare, nodeGlobals } = walk(join(here, "browser.js"));
  assert.deepEqual(nodeGlobals, []);
  assert.ok(files.some((f) => f.endsWith("client.js")));
  assert.ok(
    files.some((f) => f.includes("audio")),
    "walks into @earshot/audio",
  );
  assert.ok(!files.some((f) => f.endsWith("node-transport.js")));
  // Served as they are by `earshot serve` (no bundler): only @earshot/* imports, which it rewrites.
  assert.deepEqual([...bare], [], "imports a browser cannot resolve (zod, via a value import of @earshot/protocol?)");
  const nodeOnly = [...bare].filter(
    (s) => s.startsWith("node:") || s === "ws" || s.startsWith("ws/") || builtinModules.includes(s.split("/")[0] ?? s),
  );
  assert.deepEqual(nodeOnly, []);
});

test("the capture worklet's graph is small and needs neither Node nor a window", () => {
  const { files, bare, nodeGlobals } = walk(join(here, "capture-worklet.js"));
  assert.deepEqual(nodeGlobals, []);
  assert.deepEqual([...bare], []);
  assert.deepEqual(files.map((f) => f.split("/").at(-1)).sort(), [
    "capture-messages.js",
    "capture-worklet.js",
    "pcm.js",
    "resample.js",
  ]);
  for (const file of files) {
    assert.doesNotMatch(code(file), /\b(window|document|navigator)\./, file);
  }
});

test("microphone capture uses an AudioWorklet, never a ScriptProcessorNode", () => {
  const { files } = walk(join(here, "browser.js"));
  assert.ok(files.some((f) => f.endsWith("microphone.js")));
  for (const file of files) assert.doesNotMatch(code(file), /ScriptProcessor|createJavaScriptNode/, file);
  assert.match(readFileSync(join(here, "microphone.js"), "utf8"), /audioWorklet\.addModule/);
});

test("the walker does catch Node-only imports (checked on the Node entry)", () => {
  const { bare, nodeGlobals } = walk(join(here, "index.js"));
  assert.ok(bare.has("ws"));
  assert.ok(nodeGlobals.some((use) => use.endsWith("node-transport.js: Buffer")));
});

test('package.json maps "." to the browser entry under the "browser" condition', () => {
  const packageJson = JSON.parse(readFileSync(join(here, "../package.json"), "utf8"));
  assert.equal(packageJson.exports["."].browser, "./dist/browser.js");
  assert.equal(packageJson.exports["."].default, "./dist/index.js");
  assert.equal(packageJson.exports["./browser"].default, "./dist/browser.js");
  assert.equal(packageJson.exports["./capture-worklet"].default, "./dist/capture-worklet.js");
});
