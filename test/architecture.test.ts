/**
 * The package graph and the file graph, read from the sources: dependencies point one way
 * (protocol, audio ← engines core ← engine plugins; the server on the core alone; the CLI wires),
 * every `@earshot/*` import is a declared dependency, no two files import each other in a cycle,
 * and no test imports the bench.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What each package may depend on at run time (a ceiling; `cli` and `bench` may use any). */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  audio: ["protocol"],
  engines: ["protocol"],
  "engine-pocketsphinx": ["protocol", "audio", "engines"],
  "engine-sherpa": ["protocol", "audio", "engines"],
  vad: ["protocol", "audio", "engines"],
  server: ["protocol", "audio", "engines"],
  client: ["protocol", "audio"],
  "test-support": ["protocol", "audio", "engines", "engine-pocketsphinx"],
  web: ["protocol", "audio", "client"],
};

interface Workspace {
  readonly name: string;
  readonly dir: string;
  readonly dependencies: readonly string[];
  readonly devDependencies: readonly string[];
}

function earshotNames(deps: Record<string, string> | undefined): string[] {
  return Object.keys(deps ?? {})
    .filter((d) => d.startsWith("@earshot/"))
    .map((d) => d.slice("@earshot/".length));
}

function workspaces(): Workspace[] {
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { workspaces: string[] };
  return root.workspaces.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as {
      name: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    return {
      name: pkg.name.slice("@earshot/".length),
      dir: join(ROOT, dir),
      dependencies: earshotNames(pkg.dependencies),
      devDependencies: earshotNames(pkg.devDependencies),
    };
  });
}

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "node_modules" && name !== "dist") yield* sourceFiles(path);
    } else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) yield path;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? "");
}

function packageOf(specifier: string): string | undefined {
  const match = /^@earshot\/([^/]+)/.exec(specifier);
  return match?.[1];
}

/** A cycle in the graph of relative imports between files, if there is one. */
function findCycle(files: readonly string[]): string[] | undefined {
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(file)
      .filter((s) => s.startsWith("."))
      .map((s) => join(file, "..", s).replace(/\.js$/, ".ts"));
    edges.set(file, targets);
  }
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === "done") return undefined;
    if (state.get(file) === "visiting") return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, "visiting");
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, "done");
    return undefined;
  };
  for (const file of files) {
    const cycle = visit(file);
    if (cycle) return cycle.map((f) => relative(ROOT, f));
  }
  return undefined;
}

describe("architecture", () => {
  const all = workspaces();

  it("each package depends only on the packages below it", () => {
    for (const ws of all) {
      const allowed = ALLOWED[ws.name];
      if (!allowed) continue;
      const extra = ws.dependencies.filter((d) => !allowed.includes(d));
      assert.deepEqual(extra, [], `@earshot/${ws.name} may not depend on ${extra.join(", ")}`);
    }
    assert.ok(ALLOWED.server && !ALLOWED.server.some((d) => d.startsWith("engine-") || d === "vad"));
  });

  it("every @earshot import in a package's sources is a declared dependency", () => {
    const problems: string[] = [];
    for (const ws of all) {
      for (const file of sourceFiles(join(ws.dir, "src"))) {
        // Tests, and helpers only tests import (`*.test.helper.ts`, left out of the package like tests).
        const isTest = file.endsWith(".test.ts") || file.endsWith(".test.helper.ts");
        const declared = isTest ? [...ws.dependencies, ...ws.devDependencies] : ws.dependencies;
        for (const specifier of importsOf(file)) {
          const target = packageOf(specifier);
          if (target && target !== ws.name && !declared.includes(target)) {
            problems.push(`${relative(ROOT, file)} imports ${specifier}`);
          }
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("no package has a cycle between its files", () => {
    for (const ws of all) {
      const cycle = findCycle([...sourceFiles(join(ws.dir, "src"))]);
      assert.equal(cycle, undefined, `cycle: ${cycle?.join(" → ")}`);
    }
  });

  it("no test imports the bench, and the bench imports no test", () => {
    const testFiles = [...sourceFiles(join(ROOT, "test"))];
    assert.ok(testFiles.length > 20, "the test sources were found");
    for (const file of testFiles) {
      for (const specifier of importsOf(file)) {
        assert.ok(
          packageOf(specifier) !== "bench" && !/(^|\/)bench\//.test(specifier),
          `${relative(ROOT, file)} imports ${specifier}`,
        );
      }
    }
    for (const file of sourceFiles(join(ROOT, "bench", "src"))) {
      for (const specifier of importsOf(file)) {
        assert.ok(!/(^|\/)test\//.test(specifier), `${relative(ROOT, file)} imports ${specifier}`);
      }
    }
  });
});
