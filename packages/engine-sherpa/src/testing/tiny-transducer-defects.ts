/**
 * Each fatal model defect of the research notes (C.1), produced from the tiny transducer: a
 * directory holding one of these must be refused by the preflight, never loaded. `expect` is the
 * defect as the preflight's message names it.
 */

import { createHash } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { MODEL_MANIFEST_FILE } from "../models/model-spec.js";
import { TINY_TOKENS, writeTinyTransducer } from "./tiny-transducer.js";

export interface TinyTransducerDefect {
  /** Writes the defective model into `dir` (which need not exist). */
  readonly write: (dir: string) => Promise<void>;
  /** A fragment of the preflight's error message for this defect. */
  readonly expect: RegExp;
}

/** Deterministic junk (a fixed LCG), so a failing run can be reproduced byte for byte. */
export function junkBytes(length: number, seed = 7): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

export const TINY_TRANSDUCER_DEFECTS: Readonly<Record<string, TinyTransducerDefect>> = {
  "missing file": {
    write: async (dir) => {
      await writeTinyTransducer(dir);
      await rm(join(dir, "joiner.onnx"));
    },
    expect: /has no joiner\*\.onnx|joiner\.onnx is missing/,
  },
  "empty onnx": {
    write: async (dir) => {
      await writeTinyTransducer(dir);
      await writeFile(join(dir, "encoder.onnx"), "");
    },
    expect: /encoder\.onnx is empty/,
  },
  "random bytes": {
    write: async (dir) => {
      await writeTinyTransducer(dir);
      await writeFile(join(dir, "decoder.onnx"), junkBytes(3000));
    },
    expect: /decoder\.onnx is not an ONNX model/,
  },
  "no model_type": {
    write: async (dir) => void (await writeTinyTransducer(dir, { omitEncoderMetadata: ["model_type"] })),
    expect: /encoder\.onnx has no model_type/,
  },
  "missing decode_chunk_len": {
    write: async (dir) => void (await writeTinyTransducer(dir, { omitEncoderMetadata: ["decode_chunk_len"] })),
    expect: /encoder\.onnx lacks required metadata decode_chunk_len/,
  },
  "decoder without vocab_size": {
    write: async (dir) => void (await writeTinyTransducer(dir, { omitDecoderMetadata: ["vocab_size"] })),
    expect: /decoder\.onnx lacks required metadata vocab_size/,
  },
  "tokens line without id": {
    write: async (dir) =>
      void (await writeTinyTransducer(dir, { tokensText: "<blk> 0\n<sos/eos> 1\n<unk> 2\nA\nB 4\n" })),
    expect: /tokens\.txt line 4 has no id/,
  },
  "tokens missing an id": {
    write: async (dir) =>
      void (await writeTinyTransducer(dir, {
        tokensText: TINY_TOKENS.map((symbol, id) => (symbol === "A" ? "" : `${symbol} ${id}\n`)).join(""),
      })),
    expect: /tokens\.txt has 4 ids up to 4, but the decoder's vocab_size is 5; missing id\(s\) 3/,
  },
};

/**
 * A model the preflight passes by construction but onnxruntime aborts on: the decoder's header is
 * valid and its graph is junk (the preflight skips the graph by its length), and the manifest's
 * sha256 values match the files. Only the canary load in a child finds out.
 */
export async function writeCorruptGraphModel(dir: string, name = basename(dir)): Promise<void> {
  const spec = await writeTinyTransducer(dir, { name });
  const decoder = await readFile(join(dir, "decoder.onnx"));
  const corrupt = Buffer.from(decoder);
  const graphAt = corrupt.indexOf(Buffer.from("decoder")) + 7;
  junkBytes(corrupt.length - graphAt - 60, 3).copy(corrupt, graphAt);
  await writeFile(join(dir, "decoder.onnx"), corrupt);
  const sha256: Record<string, string> = {};
  for (const file of Object.values(spec.files)) {
    sha256[file] = createHash("sha256")
      .update(await readFile(join(dir, file)))
      .digest("hex");
  }
  await writeFile(join(dir, MODEL_MANIFEST_FILE), JSON.stringify({ spec, sha256, source: "local", installedAt: "" }));
}
