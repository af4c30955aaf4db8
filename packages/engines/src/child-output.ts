/**
 * The last few KB a child process wrote to stderr: native libraries print their reasons there
 * (sherpa-onnx with `fprintf`, glibc's "free(): invalid pointer") just before they abort, so this
 * tail is the error detail a user sees.
 */

import type { Readable } from "node:stream";

const TAIL_BYTES = 4096;

export class OutputTail {
  #tail = "";

  constructor(stream: Readable | null) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      this.#tail = (this.#tail + chunk).slice(-TAIL_BYTES);
    });
  }

  get text(): string {
    return this.#tail.trim();
  }
}

/** "exit code 134" / "signal SIGABRT". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}
