/**
 * A child process that writes WAV to stdout (a recorder, or ffmpeg decoding a file), read as
 * 16 kHz mono PCM16 chunks (or 16 kHz chunks of interleaved channels, with `channels: "keep"`). Reading pulls from the pipe, so a consumer that waits (pacing,
 * backpressure) pauses the child instead of buffering it in memory.
 */
import { spawn } from "node:child_process";
import { AudioFormatError, type WavStreamInfo, WavStreamTo16k, type WavStreamTo16kOptions } from "@earshot/audio";
import type { CliError } from "./cli-error.js";

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The end of its stderr. */
  readonly stderr: string;
  /** Set when it could not be started at all. */
  readonly error?: Error;
}

export interface WavPipe {
  /** The format the child writes, from its WAV header. */
  readonly info: WavStreamInfo;
  /** 16 kHz chunks (mono, or interleaved when channels are kept) until the child's stdout ends. Iterate once. */
  readonly chunks: AsyncIterable<Int16Array>;
  /** Ends the child; `chunks` then ends after what was already written. */
  stop(): void;
  /** Whether `stop()` was called. */
  readonly stopped: boolean;
  readonly exit: Promise<ChildExit>;
}

const STDERR_KEPT = 4000;

/**
 * Starts `command` and resolves once its WAV header has arrived. A child that exits, or writes
 * something other than WAV, before that rejects with `failure(exit)`.
 */
export async function openWavPipe(
  command: string,
  args: readonly string[],
  failure: (exit: ChildExit) => CliError,
  conversion: WavStreamTo16kOptions = {},
): Promise<WavPipe> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderr = (stderr + text).slice(-STDERR_KEPT);
  });
  const exit = new Promise<ChildExit>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, stderr, error }));
    child.once("close", (code, signal) => resolve({ code, signal, stderr }));
  });
  let stopped = false;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  const stop = () => {
    stopped = true;
    kill();
  };

  const converter = new WavStreamTo16k(conversion);
  const reader = child.stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first: Int16Array[] = [];
  while (converter.info === undefined) {
    const next = await reader.next();
    if (next.done) throw failure(await exit);
    try {
      first.push(converter.push(next.value));
    } catch (error) {
      if (!(error instanceof AudioFormatError)) throw error;
      kill();
      const ended = await exit;
      throw failure({ ...ended, stderr: ended.stderr || error.message });
    }
  }

  async function* chunks(): AsyncGenerator<Int16Array> {
    try {
      for (const chunk of first.splice(0)) if (chunk.length > 0) yield chunk;
      for (;;) {
        const next = await reader.next();
        if (next.done) break;
        const chunk = converter.push(next.value);
        if (chunk.length > 0) yield chunk;
      }
      const tail = converter.end();
      if (tail.length > 0) yield tail;
    } finally {
      // Also when the consumer leaves the loop early: destroying stdout lets the child's `close` come.
      kill();
      await reader.return?.();
    }
  }

  return {
    info: converter.info,
    chunks: chunks(),
    stop,
    get stopped() {
      return stopped;
    },
    exit,
  };
}

/** The last line of a child's stderr, for an error message. */
export function lastLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ""
  );
}
