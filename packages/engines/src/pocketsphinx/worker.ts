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
const sessions = new Map<number, DecodingSession>();
const STOP_CHECK_SAMPLES = 16_000;

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
  sessions.delete(streamId);
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
  if (message.type === "open") {
    try {
      const emit = (event: WireEvent) => send({ type: "event", streamId, event });
      const session = new DecodingSession(
        pool.acquire(),
        { wordTimestamps: message.wordTimestamps, postspeechMs },
        emit,
      );
      sessions.set(streamId, session);
      send({ type: "opened", streamId });
    } catch (error) {
      send({ type: "open-failed", streamId, message: messageOf(error) });
    }
    // Keep one decoder warm so the next open does not wait for ps_init.
    if (pool.idleCount === 0) setImmediate(() => warmQuietly(pool));
    return;
  }
  const session = sessions.get(streamId);
  if (!session) {
    if (message.type === "end") send({ type: "ended", streamId });
    return;
  }
  try {
    switch (message.type) {
      case "push": {
        // Decoded a second at a time, so that a stop does not wait for a long push to finish.
        const pcm = new Int16Array(message.pcm);
        for (let offset = 0; offset < pcm.length && !stopping(); offset += STOP_CHECK_SAMPLES) {
          session.push(pcm.subarray(offset, offset + STOP_CHECK_SAMPLES));
        }
        send({ type: "consumed", streamId, samples: pcm.length });
        break;
      }
      case "flush":
        session.flush(message.pauseAtMs);
        break;
      case "end":
        session.end();
        sessions.delete(streamId);
        pool.release(session.decoder);
        send({ type: "ended", streamId });
        break;
      case "close":
        sessions.delete(streamId);
        session.decoder.endUtterance();
        pool.release(session.decoder);
        break;
    }
  } catch (error) {
    fail(streamId, session, error);
    if (message.type === "end") send({ type: "ended", streamId });
  }
}

function shutdown(pool: DecoderPool): void {
  for (const session of sessions.values()) session.decoder.free();
  sessions.clear();
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
