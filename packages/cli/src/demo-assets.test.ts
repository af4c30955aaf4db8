/**
 * The demo page is found as an installed CLI finds it: this package's compiled files are copied
 * into a temporary `node_modules/@earshot/cli` (everything else linked from the checkout's
 * node_modules), so no path relative to the checkout's layout can work. Without `@earshot/web`
 * there, `demoRoutes()` fails with a CliError that names --no-demo.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const CLI_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** The checkout's node_modules, where npm linked the workspaces and installed the rest. */
const NODE_MODULES = join(CLI_ROOT, "..", "..", "node_modules");
const dir = mkdtempSync(join(tmpdir(), "earshot-installed-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A node_modules with a copy of the CLI and links to everything else (but `leaveOut`). */
async function installedCli(name: string, leaveOut: string[] = []) {
  const modules = join(dir, name, "node_modules");
  for (const entry of readdirSync(NODE_MODULES)) {
    if (entry === "@earshot" || entry.startsWith(".")) continue;
    mkdirSync(modules, { recursive: true });
    symlinkSync(join(NODE_MODULES, entry), join(modules, entry));
  }
  mkdirSync(join(modules, "@earshot"), { recursive: true });
  for (const entry of readdirSync(join(NODE_MODULES, "@earshot"))) {
    if (entry === "cli" || leaveOut.includes(entry)) continue;
    symlinkSync(join(NODE_MODULES, "@earshot", entry), join(modules, "@earshot", entry));
  }
  const cli = join(modules, "@earshot", "cli");
  cpSync(join(CLI_ROOT, "package.json"), join(cli, "package.json"));
  cpSync(join(CLI_ROOT, "dist"), join(cli, "dist"), { recursive: true });
  return (await import(pathToFileURL(join(cli, "dist", "demo-assets.js")).href)) as typeof import("./demo-assets.js");
}

test("an installed CLI serves the page and the browser SDK from the installed packages", async () => {
  const { demoRoutes } = await installedCli("complete");
  const routes = demoRoutes();
  assert.match(routes.get("/")?.body.toString() ?? "", /<script type="module" src="\/demo\/app.js">/);
  const app = routes.get("/demo/app.js")?.body.toString() ?? "";
  assert.match(app, /from "\/sdk\/client\/dist\/browser\.js"/, "bare specifiers point at SDK routes");
  assert.ok(routes.has("/sdk/client/dist/capture-worklet.js"));
  assert.ok(routes.has("/sdk/audio/dist/resample.js"), "the worklet's graph is in");
  for (const [route, asset] of routes) {
    assert.doesNotMatch(asset.body.toString(), /from\s*["']@earshot\//, `${route} has no bare @earshot import left`);
  }
});

test("without @earshot/web the CLI says so, and how to serve without the page", async () => {
  const { demoRoutes } = await installedCli("without-web", ["web"]);
  assert.throws(
    demoRoutes,
    (error: Error) => error.name === "CliError" && /@earshot\/web.*--no-demo/s.test(error.message),
  );
});
