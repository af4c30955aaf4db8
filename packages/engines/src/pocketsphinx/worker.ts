/**
 * A decoding worker thread: hosts the decoders of many streams, one `DecodingSession` each, so
 * native decoding never runs on the server's event loop. Started by `PocketSphinxEngine` with a
 * `WorkerConfig` as workerData; speaks the messages in `messages.ts`.
 */

import { parentPort, workerData } from "node:worker_threads";
import { loadLibrary } from "./binding.js";
import { DecoderPool } from "./decoder-pool.js";
import { DecodingSession } from "./decoding-session.js";
import type { FromWorker, ToWorker, WireEvent, WorkerData } from "./messages.js";

const port = parentPort;
if (!port) throw new Error("worker.ts must run as a worker thread");
const config = workerData as WorkerData;
const postspeechMs = 10 * Number(config.decoderArgs.vad_postspeech ?? 50);
const externalEndpointing = config.decoderArgs.remove_silence === false || config.decoderArgs.remove_silence === "no";
/** Audio a stream decodes per turn before the next stream's turn: 100 ms. */
const QUANTUM_SAMPLES = 1_600;

type WorkItem =
  | { readonly type: "push"; readonly pcm: Int16Array; done: number; busyMs: number }
  | { readonly type: "flush"; readonly pauseAtMs?: number }
  | { readonly type: "end" };

interface WorkerStream {
  readonly session: DecodingSession;
  /** Pushes, flushes and the end, in the order they arrived; decoded in turns. */
  readonly work: WorkItem[];
}

const streams = new Map<number, WorkerStream>();
let roundScheduled = false;

function stopping(): boolean {
  return Atomics.load(config.stopFlag, 0) === 1;
}

function send(message: FromWorker): void {
  port?.postMessage(message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function start(): DecoderPool | undefined {
  try {
    loadLibrary(config.libraryPaths);
  } catch (error) {
    send({
      type: "failed",
      message: `cannot load the PocketSphinx libraries (${config.libraryPaths.pocketsphinx}, ${config.libraryPaths.sphinxbase}); install the Debian packages libpocketsphinx3 and libsphinxbase3: ${messageOf(error)}`,
    });
    return undefined;
  }
  const pool = new DecoderPool(config.decoderArgs, config.libraryPaths, config.maxIdleDecoders);
  try {
    pool.warm();
  } catch (error) {
    send({ type: "failed", message: `cannot create a PocketSphinx decoder: ${messageOf(error)}` });
    return undefined;
  }
  send({ type: "ready" });
  return pool;
}

/** A session whose decoder threw is dropped with its decoder, whose state is now unknown. */
function fail(streamId: number, session: DecodingSession, error: unknown): void {
  streams.delete(streamId);
  session.decoder.free();
  send({ type: "event", streamId, event: { type: "error", message: `pocketsphinx: ${messageOf(error)}` } });
}

function handle(pool: DecoderPool, message: ToWorker): void {
  if (message.type === "shutdown") {
    shutdown(pool);
    return;
  }
  // Stopping: skip the audio still queued behind the shutdown message.
  if (stopping()) return;
  const { streamId } = message;
  switch (message.type) {
    case "open":
      open(pool, streamId, message.wordTimestamps);
      return;
    case "close": {
      const stream = streams.get(streamId);
      streams.delete(streamId);
      if (!stream) return;
      stream.session.decoder.endUtterance();
      pool.release(stream.session.decoder);
      return;
    }
    case "push":
    case "flush":
    case "end": {
      const stream = streams.get(streamId);
      if (!stream) {
        if (message.type === "end") send({ type: "ended", streamId });
        return;
      }
      stream.work.push(
        message.type === "push" ? { ...message, pcm: new Int16Array(message.pcm), done: 0, busyMs: 0 } : message,
      );
      schedule(pool);
      return;
    }
  }
}

function open(pool: DecoderPool, streamId: number, wordTimestamps: boolean): void {
  try {
    const emit = (event: WireEvent) => send({ type: "event", streamId, event });
    const session = new DecodingSession(pool.acquire(), { wordTimestamps, postspeechMs, externalEndpointing }, emit);
    streams.set(streamId, { session, work: [] });
    send({ type: "opened", streamId });
  } catch (error) {
    send({ type: "open-failed", streamId, message: messageOf(error) });
  }
  // Keep one decoder warm so the next open does not wait for ps_init.
  if (pool.idleCount === 0) setImmediate(() => warmQuietly(pool));
}

/**
 * Fair scheduling: each round gives every stream with work at most `QUANTUM_SAMPLES` of decoding
 * (plus any flush or end behind it), then yields so that new messages are read. A stream that
 * pushed a minute of audio at once takes turns with the others instead of holding the thread.
 */
function schedule(pool: DecoderPool): void {
  if (roundScheduled) return;
  roundScheduled = true;
  setImmediate(() => {
    roundScheduled = false;
    runRound(pool);
  });
}

function runRound(pool: DecoderPool): void {
  for (const [streamId, stream] of streams) {
    if (stopping()) return;
    if (stream.work.length === 0) continue;
    try {
      runTurn(pool, streamId, stream);
    } catch (error) {
      const ending = stream.work.some((item) => item.type === "end");
      fail(streamId, stream.session, error);
      if (ending) send({ type: "ended", streamId });
    }
    if (stream.work.length > 0) schedule(pool);
  }
}

function runTurn(pool: DecoderPool, streamId: number, stream: WorkerStream): void {
  let budget = QUANTUM_SAMPLES;
  while (budget > 0) {
    const item = stream.work[0];
    if (!item) return;
    if (item.type === "push") {
      const take = Math.min(budget, item.pcm.length - item.done);
      const started = performance.now();
      stream.session.push(item.pcm.subarray(item.done, item.done + take));
      item.busyMs += performance.now() - started;
      item.done += take;
      budget -= take;
      if (item.done < item.pcm.length) return;
      stream.work.shift();
      send({ type: "consumed", streamId, samples: item.pcm.length, busyMs: item.busyMs });
    } else if (item.type === "flush") {
      stream.work.shift();
      stream.session.flush(item.pauseAtMs);
    } else {
      stream.work.length = 0;
      stream.session.end();
      streams.delete(streamId);
      pool.release(stream.session.decoder);
      send({ type: "ended", streamId });
      return;
    }
  }
}

function shutdown(pool: DecoderPool): void {
  for (const stream of streams.values()) stream.session.decoder.free();
  streams.clear();
  pool.free();
  port?.close();
}

/** A failed warm-up is not an error yet: the next open tries ps_init again and reports it. */
function warmQuietly(pool: DecoderPool): void {
  if (pool.idleCount > 0 || stopping()) return;
  try {
    pool.warm();
  } catch {
    // Reported by the next open, which retries.
  }
}

const pool = start();
if (pool) port.on("message", (message: ToWorker) => handle(pool, message));
else port.close();
