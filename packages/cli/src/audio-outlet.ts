/**
 * Where `transcribe` sends a file's frames: one EarshotClient (the channels mixed down), or a
 * MultichannelClient (interleaved frames, a stream per channel). One loop paces and throttles both.
 */
import type { EarshotClient, MultichannelClient } from "@earshot/client";
import { drained, finalOrClose, isClosed } from "./client-waits.js";
import type { Format } from "./formats.js";
import { finishSession } from "./stream-session.js";

export interface AudioOutlet {
  /** false: wait for `drained()` before sending more. */
  send(frame: Int16Array): boolean;
  /** No stream takes audio any more. */
  closed(): boolean;
  /** Audio held for replay: the most of any stream. */
  bufferedMs(): number;
  drained(): Promise<void>;
  /** Resolves when the stream furthest behind makes progress (a final), or in a second. */
  progressed(): Promise<void>;
  /** Closes, writes the transcript; the exit code. */
  finish(): Promise<number>;
}

export function clientOutlet(client: EarshotClient, format: Format): AudioOutlet {
  return {
    send: (frame) => client.send(frame),
    closed: () => isClosed(client),
    bufferedMs: () => client.bufferedMs,
    drained: () => drained(client),
    progressed: () => finalOrClose(client),
    finish: () => finishSession(client, format),
  };
}

export function channelsOutlet(
  client: MultichannelClient,
  finish: (client: MultichannelClient) => Promise<number>,
): AudioOutlet {
  const open = () => client.clients.filter((c) => !isClosed(c));
  return {
    send: (frame) => client.send(frame),
    closed: () => open().length === 0,
    bufferedMs: () => Math.max(0, ...open().map((c) => c.bufferedMs)),
    drained: () =>
      new Promise((resolve) => {
        const offDrain = client.once("drain", () => done());
        const offState = client.on("state", () => {
          if (open().length === 0) done();
        });
        function done() {
          offDrain();
          offState();
          resolve();
        }
      }),
    progressed: () => {
      const behind = open().reduce<EarshotClient | undefined>(
        (most, c) => (most === undefined || c.bufferedMs > most.bufferedMs ? c : most),
        undefined,
      );
      return behind === undefined ? Promise.resolve() : finalOrClose(behind);
    },
    finish: () => finish(client),
  };
}
