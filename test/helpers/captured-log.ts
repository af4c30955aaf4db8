/** A server logger at debug level whose lines the test keeps, to check what was (and was not) logged. */
import { Writable } from "node:stream";
import { createLogger } from "@earshot/server";

export interface CapturedLog {
  readonly logger: ReturnType<typeof createLogger>;
  /** Everything logged so far, as one string. */
  text(): string;
}

export function capturedLog(): CapturedLog {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  return { logger: createLogger("debug", sink), text: () => chunks.join("") };
}
