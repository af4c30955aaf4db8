/**
 * `tokens.txt`: one `symbol id` per line (the symbol may itself be a space, as in some CJK+BPE
 * sets). sherpa-onnx exits the process on a line without an id and aborts when a decoded id has no
 * symbol, so both are found here first.
 */

import { readFile } from "node:fs/promises";
import { defineError } from "@earshot/protocol";

export interface TokenTable {
  /** Symbol per id. */
  readonly symbols: ReadonlyMap<number, string>;
  readonly maxId: number;
}

/** Thrown for a `tokens.txt` sherpa-onnx would crash on; the message says which line and why. */
export class TokensFormatError extends defineError("TokensFormatError", "invalid_tokens") {}

const LINE = /^(.*?)\s+(\d+)\s*$/;

export function parseTokens(text: string): TokenTable {
  const symbols = new Map<number, string>();
  let maxId = -1;
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const match = LINE.exec(line);
    if (!match) throw new TokensFormatError(`line ${index + 1} has no id: ${JSON.stringify(line.slice(0, 40))}`);
    const id = Number(match[2]);
    if (symbols.has(id)) throw new TokensFormatError(`line ${index + 1} repeats id ${id}`);
    symbols.set(id, match[1] === "" ? " " : (match[1] ?? ""));
    maxId = Math.max(maxId, id);
  }
  return { symbols, maxId };
}

export async function readTokens(path: string): Promise<TokenTable> {
  return parseTokens(await readFile(path, "utf8"));
}
