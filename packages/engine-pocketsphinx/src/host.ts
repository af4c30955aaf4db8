/**
 * A decoding process: hosts the decoders of many streams, one `DecodingSession` each, so native
 * decoding never runs in the server process, and a crash in it ends only this process. Forked by
 * `DecodingProcess`, configured by its first message (`init`); speaks the messages in `messages.ts`.
 */

import { exitWithParent } from "@earshot/engines";
import { SAMPLES_PER_MS } from "@earshot/protocol/encodings";
import { loadLibrary } from "./binding.js";
import { DecoderPool } from "./decoder-pool.js";
import { DecodingSession } from "./decoding-session.js";
import type { FromWorker, ToWorker, WireEvent, WorkerConfig } from "./messages.js";

if (!process.send) throw new Error("host.ts must run as a forked child process");
/** Audio a stream decodes per turn before the next stream's turn: 100 ms. */
const QUANTUM_SAMPLES = 1_600;
/**
 * Busy share of the last second above which pushes are batched, and below which they no longer
 * are. Higher thresholds were faster at the median with few streams but lost p95 as streams grew,
 * from the CPU the small turns cost (docs/benchmarks.md, "Where the server's CPU goes").
 */
const BATCH_ON = 0.5;
const BATCH_OFF = 0.3;

type WorkItem =
  | { readonly type: "push"; readonly pcm: Int16Array; done: number; busyMs: number; readonly at: number }
  | { readonly type: "flush"; readonly pauseAtMs?: number }
  | { readonly type: "end" };

interface WorkerStream {
  readonly session: DecodingSession;
  /** Pushes, flushes and the end, in the order they arrived; decoded in turns. */
  readonly work: WorkItem[];
  /** Samples of the queued pushes not decoded yet. */
  queued: number;
}

const streams = new Map<number, WorkerStream>();
let roundScheduled = false;
let holdTimer: NodeJS.Timeout | undefined;
/** Decoding time per 100 ms slot over the last second, for the busy share. */
const busySlots = new Float64Array(10);
let busySlot = 0;
let batching = false;
/** Set by `init` from the decoder's flags. */
let postspeechMs = 500;
let externalEndpointing = false;
/**
 * Small pushes (a client's 20 ms frames) are decoded as they come while this process is lightly
 * loaded, for latency. Once it is busy, they wait until `batchSamples` are queued, `batchHoldMs`
 * passed, or a flush or the end comes behind them: every wake-up and every switch to another
 * decoder (each with its own copy of the model) starts with cold caches (docs/benchmarks.md,
 * "Where the server's CPU goes"). Partials are read once per 100 ms of audio
 * anyway, and a flush (the gate's endpoint) is decoded at once.
 */
let batchSamples = 0;
/** Set by `init` with `batchSamples`. */
let batchHoldMs = 0;

function noteBusy(ms: number): void {
  const slot = Math.floor(performance.now() / 100);
  if (slot !== busySlot) {
    for (let s = busySlot + 1; s <= Math.min(slot, busySlot + 10); s++) busySlots[s % 10] = 0;
    busySlot = slot;
  }
  busySlots[slot % 10] = (busySlots[slot % 10] ?? 0) + ms;
}

/** Turns batching on above BATCH_ON of the last second busy, off below BATCH_OFF. */
function updateBatching(): void {
  if (batchSamples === 0) return;
  noteBusy(0);
  let busy = 0;
  for (const ms of busySlots) busy += ms;
  const share = busy / 1000;
  if (share >= BATCH_ON) batching = true;
  else if (share < BATCH_OFF) batching = false;
}

/** When a stream may take its turn: now (0), or once its oldest push has waited long enough. */
function readyAt(stream: WorkerStream): number {
  const first = stream.work[0];
  if (!first) return Number.POSITIVE_INFINITY;
  if (!batching || first.type !== "push" || stream.queued >= batchSamples) return 0;
  if (stream.work.some((item) => item.type !== "push")) return 0;
  return first.at + batchHoldMs;
}

function send(message: FromWorker): void {
  process.send?.(message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function start(config: WorkerConfig): DecoderPool | undefined {
  postspeechMs = 10 * Number(config.decoderArgs.vad_postspeech ?? 50);
  externalEndpointing = config.decoderArgs.remove_silence === false || config.decoderArgs.remove_silence === "no";
  batchSamples = Math.round(config.batchMs * SAMPLES_PER_MS);
  batchHoldMs = config.batchMs;
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

function handle(pool: DecoderPool, message: Exclude<ToWorker, { type: "init" | "shutdown" }>): void {
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
      if (message.type === "push") {
        const { pcm } = message;
        stream.queued += pcm.length;
        stream.work.push({ type: "push", pcm, done: 0, busyMs: 0, at: performance.now() });
      } else stream.work.push(message);
      schedule(pool);
      return;
    }
  }
}

function open(pool: DecoderPool, streamId: number, wordTimestamps: boolean): void {
  try {
    const emit = (event: WireEvent) => send({ type: "event", streamId, event });
    const session = new DecodingSession(pool.acquire(), { wordTimestamps, postspeechMs, externalEndpointing }, emit);
    streams.set(streamId, { session, work: [], queued: 0 });
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
 * pushed a minute of audio at once takes turns with the others instead of holding the process.
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
  updateBatching();
  let nextHold = Number.POSITIVE_INFINITY;
  const now = performance.now();
  for (const [streamId, stream] of streams) {
    const at = readyAt(stream);
    if (at > now) {
      nextHold = Math.min(nextHold, at);
      continue;
    }
    try {
      runTurn(pool, streamId, stream);
    } catch (error) {
      const ending = stream.work.some((item) => item.type === "end");
      fail(streamId, stream.session, error);
      if (ending) send({ type: "ended", streamId });
    }
    const next = readyAt(stream);
    if (next <= now) schedule(pool);
    else nextHold = Math.min(nextHold, next);
  }
  clearTimeout(holdTimer);
  holdTimer = undefined;
  if (nextHold !== Number.POSITIVE_INFINITY) {
    holdTimer = setTimeout(() => schedule(pool), Math.max(0, nextHold - performance.now()));
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
      const busyMs = performance.now() - started;
      item.busyMs += busyMs;
      noteBusy(busyMs);
      item.done += take;
      stream.queued -= take;
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

/** A failed warm-up is not an error yet: the next open tries ps_init again and reports it. */
function warmQuietly(pool: DecoderPool): void {
  if (pool.idleCount > 0) return;
  try {
    pool.warm();
  } catch {
    // Reported by the next open, which retries.
  }
}

let pool: DecoderPool | undefined;
process.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "init":
      pool = start(message.config);
      // Not started: `failed` was sent; exit once it is out.
      if (!pool) process.disconnect();
      return;
    case "shutdown":
      // The decoders' memory goes with the process; skipping their frees makes the stop prompt.
      process.exit(0);
      return;
    default:
      if (pool) handle(pool, message);
  }
});
exitWithParent();
