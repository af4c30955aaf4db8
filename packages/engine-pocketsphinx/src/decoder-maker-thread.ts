/**
 * The decoder maker's thread (see decoder-maker.ts): runs `ps_init` for the decoding process's main
 * thread, which keeps decoding meanwhile, and answers with the new decoder's address. Loading the
 * library here turns its logging off the same way (`loadLibrary`), so no FILE is swapped under a
 * decoder of the main thread.
 */

import { parentPort, workerData } from "node:worker_threads";
import { createNativeDecoder, type DecoderArgs, type LibraryPaths } from "./binding.js";

export interface MakerRequest {
  readonly id: number;
}

export type MakerReply =
  | { readonly id: number; readonly address: bigint }
  | { readonly id: number; readonly error: string };

const { args, paths } = workerData as { args: DecoderArgs; paths: LibraryPaths };

parentPort?.on("message", ({ id }: MakerRequest) => {
  try {
    parentPort?.postMessage({ id, address: createNativeDecoder(args, paths) } satisfies MakerReply);
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) } satisfies MakerReply);
  }
});
