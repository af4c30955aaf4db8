/**
 * The demo page's files for `earshot serve` (routes `/`, `/demo/…`, `/sdk/…`), read once at start:
 * the `@earshot/web` package (HTML, CSS, compiled modules) and the browser SDK's module graph (the
 * client's browser entry and its capture worklet, with the @earshot/* modules they import), all
 * found the way Node resolves packages (`import.meta.resolve`), so an installed CLI finds them in
 * node_modules as a checkout finds the workspaces. Browsers cannot resolve bare specifiers such as
 * `@earshot/audio` (and worklets take no import map), so each is rewritten to the route of the file
 * it resolves to; relative imports stay as they are, because the routes mirror each package's
 * layout. The table is fixed: no request ever maps to a path on disk.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { StaticAsset, StaticRoutes } from "@earshot/server";
import { CliError } from "./cli-error.js";

/** Entries of the page's graph besides its own modules: the worklet, loaded by URL, not by import. */
const SDK_ENTRIES = ["@earshot/client/capture-worklet"];
/** `from "x"`, `import "x"`, `import("x")`: the specifier is group 1, 2 or 3. */
const IMPORT = /(\bfrom\s*["'])([^"']+)(["'])|(\bimport\s*\(?\s*["'])([^"']+)(["'])/g;
const NO_DEMO = "start with --no-demo to serve without it";

/** The folder of the installed `@earshot/web` package, whose page is built (`dist/app.js`). */
function webRoot(): string {
  let root: string;
  try {
    root = dirname(fileURLToPath(import.meta.resolve("@earshot/web/package.json")));
  } catch (error) {
    throw new CliError(
      `the demo page's package @earshot/web is not installed (${(error as Error).message}); ${NO_DEMO}`,
    );
  }
  if (!existsSync(join(root, "dist", "app.js"))) {
    throw new CliError(`the demo page in ${root} is not built (run \`npm run build\`); ${NO_DEMO}`);
  }
  return root;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

/** The root folder and name of the package a file belongs to (its nearest package.json). */
function packageOf(file: string, cache: Map<string, { root: string; name: string }>) {
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    const cached = cache.get(dir);
    if (cached) return cached;
    const manifest = join(dir, "package.json");
    if (!existsSync(manifest)) continue;
    const { name } = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string };
    if (!name?.startsWith("@earshot/")) throw new Error(`${file} is not in an @earshot package`);
    const found = { root: dir, name: name.slice("@earshot/".length) };
    cache.set(dir, found);
    return found;
  }
  throw new Error(`${file} is in no package`);
}

/** Route of an @earshot module file: `/sdk/<package>/<path inside the package>`. */
function sdkRouter(): (file: string) => string {
  const cache = new Map<string, { root: string; name: string }>();
  return (file) => {
    const { root, name } = packageOf(file, cache);
    return `/sdk/${name}/${relative(root, file).replaceAll("\\", "/")}`;
  };
}

function asset(file: string, body: string | Buffer): StaticAsset {
  const contentType = TYPES[extname(file)];
  if (!contentType) throw new Error(`no content type for ${file}`);
  return { contentType, body: typeof body === "string" ? Buffer.from(body) : body };
}

/** Adds `entry` and every module it imports (transitively), rewriting bare @earshot specifiers. */
function addGraph(
  routes: Map<string, StaticAsset>,
  entry: string,
  routeOf: (file: string) => string,
  sdkRoute: (file: string) => string,
): void {
  const queue = [entry];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "");
    const rewritten = source.replace(IMPORT, (whole, ...groups: string[]) => {
      const [head, specifier, tail] = groups[0] === undefined ? groups.slice(3, 6) : groups.slice(0, 3);
      if (specifier === undefined) return whole;
      if (specifier.startsWith(".")) {
        queue.push(resolve(dirname(file), specifier));
        return whole;
      }
      if (!specifier.startsWith("@earshot/"))
        throw new Error(`${file} imports ${specifier}, which no browser can load`);
      const target = fileURLToPath(import.meta.resolve(specifier));
      queue.push(target);
      return `${head}${sdkRoute(target)}${tail}`;
    });
    routes.set(routeOf(file), asset(file, rewritten));
  }
}

/** Every route of the demo. Throws a CliError when the page is not installed or not built. */
export function demoRoutes(): StaticRoutes {
  const root = webRoot();
  const routes = new Map<string, StaticAsset>();
  const page = (file: string) => join(root, file);
  routes.set("/", asset("index.html", readFileSync(page("index.html"))));
  routes.set("/demo/styles.css", asset("styles.css", readFileSync(page("styles.css"))));
  const sdkRoute = sdkRouter();
  const pageRoute = (file: string) => `/demo/${relative(page("dist"), file).replaceAll("\\", "/")}`;
  const routeOf = (file: string) => (file.startsWith(page("dist")) ? pageRoute(file) : sdkRoute(file));
  addGraph(routes, page("dist/app.js"), routeOf, sdkRoute);
  for (const entry of SDK_ENTRIES) addGraph(routes, fileURLToPath(import.meta.resolve(entry)), sdkRoute, sdkRoute);
  return routes;
}
