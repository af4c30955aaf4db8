/**
 * The decoder maker's thread (see decoder-maker.ts): runs `ps_init` for the decoding process's main
 * thread, which keeps decoding meanwhile, and answers with the new decoder's address. Loading the
 * library here turns its logging off the same way (`loadLibrary`), so no FILE is swapped under a
 * decoder of the main thread. With `shared`, the new decoder then takes the process's shared model
 * (`createNativeDecoder`); this thread only writes those addresses and frees the decoder's own
 * copies, which no other thread has seen.
 */

import { parentPort, workerData } from "node:worker_threads";
import { createNativeDecoder, type DecoderArgs, type LibraryPaths, type SharedModelRefs } from "./binding.js";

export interface MakerRequest {
  readonly id: number;
  readonly shared?: SharedModelRefs;
}

export type MakerReply =
  | { readonly id: number; readonly address: bigint; readonly shared: boolean; readonly makeMs: number }
  | { readonly id: number; readonly error: string };

const { args, paths } = workerData as { args: DecoderArgs; paths: LibraryPaths };

parentPort?.on("message", ({ id, shared }: MakerRequest) => {
  try {
    const started = performance.now();
    const made = createNativeDecoder(args, paths, shared);
    parentPort?.postMessage({ id, ...made, makeMs: performance.now() - started } satisfies MakerReply);
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) } satisfies MakerReply);
  }
});
