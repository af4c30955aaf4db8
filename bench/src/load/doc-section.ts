/**
 * Writes one generated section into a markdown file between `<!-- name:begin -->` and
 * `<!-- name:end -->` markers, leaving the rest of the file alone; the section is appended when the
 * markers are not there yet. The load and long-stream benches own their sections of
 * docs/benchmarks.md this way, next to the sections `npm run bench` writes.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export const BENCHMARKS_MD = new URL("../../../docs/benchmarks.md", import.meta.url).pathname;

export function replaceSection(path: string, name: string, body: string): void {
  const begin = `<!-- ${name}:begin (generated; do not edit by hand) -->`;
  const end = `<!-- ${name}:end -->`;
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const block = `${begin}\n\n${body.trim()}\n\n${end}`;
  const from = text.indexOf(`<!-- ${name}:begin`);
  const to = text.indexOf(end);
  const updated =
    from !== -1 && to > from
      ? `${text.slice(0, from)}${block}${text.slice(to + end.length)}`
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, updated);
}
