/**
 * The demo page's files for `earshot serve` (routes `/`, `/demo/…`, `/sdk/…`), read once at start:
 * apps/web (HTML, CSS, compiled modules) and the browser SDK's module graph (the client's browser
 * entry and its capture worklet, with the @earshot/* modules they import). Browsers cannot resolve
 * bare specifiers such as `@earshot/audio` (and worklets take no import map), so each is rewritten
 * to the route of the file it resolves to; relative imports stay as they are, because the routes
 * mirror the files' layout. The table is fixed: no request ever maps to a path on disk.
 */
import { readFileSync } from "node:fs";
import { dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { StaticAsset, StaticRoutes } from "@earshot/server";

const WEB_ROOT = fileURLToPath(new URL("../../../apps/web/", import.meta.url));
/** Entries of the page's graph besides its own modules: the worklet, loaded by URL, not by import. */
const SDK_ENTRIES = ["@earshot/client/capture-worklet"];
/** `from "x"`, `import "x"`, `import("x")`: the specifier is group 1, 2 or 3. */
const IMPORT = /(\bfrom\s*["'])([^"']+)(["'])|(\bimport\s*\(?\s*["'])([^"']+)(["'])/g;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

/** Route of an @earshot module file: `/sdk/<package>/<path inside the package>`. */
function sdkRoute(file: string): string {
  const match = /[\\/]packages[\\/]([a-z-]+)[\\/](.+)$/.exec(file);
  if (!match) throw new Error(`not a workspace package file: ${file}`);
  return `/sdk/${match[1]}/${(match[2] as string).replaceAll("\\", "/")}`;
}

function asset(file: string, body: string | Buffer): StaticAsset {
  const contentType = TYPES[extname(file)];
  if (!contentType) throw new Error(`no content type for ${file}`);
  return { contentType, body: typeof body === "string" ? Buffer.from(body) : body };
}

/** Adds `entry` and every module it imports (transitively), rewriting bare @earshot specifiers. */
function addGraph(routes: Map<string, StaticAsset>, entry: string, routeOf: (file: string) => string): void {
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

/** Every route of the demo. Throws when apps/web is not built (`npx tsc -b`). */
export function demoRoutes(): StaticRoutes {
  const routes = new Map<string, StaticAsset>();
  const page = (file: string) => join(WEB_ROOT, file);
  routes.set("/", asset("index.html", readFileSync(page("index.html"))));
  routes.set("/demo/styles.css", asset("styles.css", readFileSync(page("styles.css"))));
  const pageRoute = (file: string) => `/demo/${relative(page("dist"), file).replaceAll("\\", "/")}`;
  addGraph(routes, page("dist/app.js"), (file) => (file.startsWith(page("dist")) ? pageRoute(file) : sdkRoute(file)));
  for (const entry of SDK_ENTRIES) addGraph(routes, fileURLToPath(import.meta.resolve(entry)), sdkRoute);
  return routes;
}
