/**
 * A decoding process: decodes the streams the server opens here, one `DecodingSession` each, so
 * native decoding never runs in the server process, and a crash in it ends only this process.
 * Forked by `DecodingProcess`, configured by its first message (`init`); speaks the messages in
 * `messages.ts`.
 *
 * Decoders are lent per utterance (decoder-pool.ts): a stream borrows one when audio comes (behind
 * the VAD gate, at speech onset, pre-roll first) and gives it back after the flush that ends the
 * utterance, keeping the checkpoint its next utterance starts from. A silent stream holds none. A
 * stream that finds none free waits in line with its audio queued (the server's flow control bounds
 * it) while the maker thread makes one.
 */

import { exitWithParent } from "@earshot/engines";
import { SAMPLES_PER_MS } from "@earshot/protocol/encodings";
import { type Decoder, loadLibrary, readMllr } from "./binding.js";
import { BusyShare } from "./busy-share.js";
import { DecoderMaker } from "./decoder-maker.js";
import { DecoderPool } from "./decoder-pool.js";
import { decoderStateSupported } from "./decoder-state.js";
import { DecodingSession } from "./decoding-session.js";
import type { FromWorker, SessionCheckpoint, ToWorker, WireEvent, WorkerConfig } from "./messages.js";
import { roundOrder } from "./round-order.js";

if (!process.send) throw new Error("host.ts must run as a forked child process");
/** Audio a stream decodes per turn before the next stream's turn: 100 ms. */
const QUANTUM_SAMPLES = 1_600;
/**
 * A stream whose utterance has ended (a flush is queued behind its audio) goes first in a round and
 * decodes up to its flush, at most this much audio per round: its final is what a user waits for,
 * and when the process falls behind (a crowd that starts speaking together), finishing the ended
 * utterances first keeps their finals prompt while the others catch up (shortest remaining work
 * first). At most 1 s of audio (about 80 ms of decoding) so the others' turns still come often.
 */
const FINISHING_SAMPLES = 16_000;
/** How often idle decoders beyond the warm ones are looked at. */
const SHRINK_EVERY_MS = 5_000;

type WorkItem =
  | { readonly type: "push"; readonly pcm: Int16Array; done: number; busyMs: number; readonly at: number }
  | { readonly type: "flush"; readonly pauseAtMs?: number }
  | { readonly type: "end" };

interface WorkerStream {
  readonly id: number;
  readonly session: DecodingSession;
  /** Pushes, flushes and the end, in the order they arrived; decoded in turns. */
  readonly work: WorkItem[];
  /** Samples of the queued pushes not decoded yet. */
  queued: number;
  /** Set while the stream waits in line for a decoder: leaves the line. */
  cancelWait: (() => void) | undefined;
  /** A file transcription (`StreamOptions.batch`): live streams' audio goes first (round-order.ts). */
  readonly batch: boolean;
}

interface Host {
  readonly pool: DecoderPool<Decoder>;
  /** Checkpoints work with this library build (decoder-state.ts): taken at every flush. */
  readonly checkpoints: boolean;
  /** Decoders go back to the pool between utterances (`WorkerConfig.lend`, with checkpoints). */
  readonly lend: boolean;
  readonly postspeechMs: number;
  readonly externalEndpointing: boolean;
  /** See `readyAt`: small pushes wait for this many samples while the process is busy. */
  readonly batchSamples: number;
  readonly batchHoldMs: number;
  readonly telephoneMllr: WorkerConfig["telephoneMllr"];
}

const streams = new Map<number, WorkerStream>();
/** Rounds in which the batch streams took one turn together (whose turn it is: round-order.ts). */
let batchRounds = 0;
const busy = new BusyShare();
let roundScheduled = false;
let holdTimer: NodeJS.Timeout | undefined;
let poolReport: NodeJS.Immediate | undefined;

function send(message: FromWorker): void {
  process.send?.(message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * When a stream may take its turn: now (0), or once its oldest push has waited long enough. Small
 * pushes (a client's 20 ms frames) are decoded as they come while this process is lightly loaded,
 * for latency. Once it is busy, they wait until `batchSamples` are queued, `batchHoldMs` passed, or
 * a flush or the end comes behind them: every wake-up and every switch to another decoder starts
 * with cold caches (docs/benchmarks.md, "Where the server's CPU goes").
 */
function readyAt(host: Host, stream: WorkerStream): number {
  const first = stream.work[0];
  if (!first) return Number.POSITIVE_INFINITY;
  if (!busy.batching || first.type !== "push" || stream.queued >= host.batchSamples) return 0;
  if (stream.work.some((item) => item.type !== "push")) return 0;
  return first.at + host.batchHoldMs;
}

async function start(config: WorkerConfig): Promise<Host | undefined> {
  try {
    loadLibrary(config.libraryPaths);
  } catch (error) {
    send({
      type: "failed",
      message: `cannot load the PocketSphinx libraries (${config.libraryPaths.pocketsphinx}, ${config.libraryPaths.sphinxbase}); install the Debian packages libpocketsphinx3 and libsphinxbase3: ${messageOf(error)}`,
    });
    return undefined;
  }
  if (config.telephoneMllr) {
    try {
      readMllr(config.telephoneMllr.path, config.libraryPaths);
      readMllr(config.telephoneMllr.identity, config.libraryPaths);
    } catch (error) {
      send({ type: "failed", message: `cannot read the telephone adaptation: ${messageOf(error)}` });
      return undefined;
    }
  }
  const maker = new DecoderMaker(config.decoderArgs, config.libraryPaths, { shareModel: config.shareModel });
  const pool = new DecoderPool<Decoder>({
    make: () => maker.make(),
    destroy: (decoder) => decoder.free(),
    min: Math.max(1, config.decoders),
    max: Math.max(1, config.decoders, config.maxDecoders),
    idleMs: config.idleDecoderMs,
    onChange: () => reportPool(pool),
  });
  try {
    // Every warm decoder exists before the process says it is ready (and the server's /readyz).
    await pool.start();
  } catch (error) {
    await maker.close();
    send({ type: "failed", message: `cannot create a PocketSphinx decoder: ${messageOf(error)}` });
    return undefined;
  }
  const probe = pool.peek();
  const checkpoints = probe !== undefined && decoderStateSupported(probe.native);
  setInterval(() => pool.shrink(), SHRINK_EVERY_MS).unref();
  send({ type: "ready" });
  reportPool(pool);
  return {
    pool,
    checkpoints,
    lend: checkpoints && config.lend,
    postspeechMs: 10 * Number(config.decoderArgs.vad_postspeech ?? 50),
    externalEndpointing: config.decoderArgs.remove_silence === false || config.decoderArgs.remove_silence === "no",
    batchSamples: Math.round(config.batchMs * SAMPLES_PER_MS),
    batchHoldMs: config.batchMs,
    telephoneMllr: config.telephoneMllr,
  };
}

/** The pool's counts, once per turn of the event loop however often they changed. */
function reportPool(pool: DecoderPool<Decoder>): void {
  if (poolReport) return;
  poolReport = setImmediate(() => {
    poolReport = undefined;
    send({ type: "pool", stats: pool.stats });
  });
}

/** A stream whose decoder threw is dropped with its decoder, whose state is now unknown. */
function fail(host: Host, stream: WorkerStream, error: unknown): void {
  streams.delete(stream.id);
  stream.cancelWait?.();
  const decoder = stream.session.detach();
  if (decoder) host.pool.discard(decoder);
  send({ type: "event", streamId: stream.id, event: { type: "error", message: `pocketsphinx: ${messageOf(error)}` } });
  if (stream.work.some((item) => item.type === "end")) send({ type: "ended", streamId: stream.id });
}

/** The stream leaves: its decoder (if any) goes back to the pool, reset by its next borrower. */
function remove(host: Host, stream: WorkerStream): void {
  streams.delete(stream.id);
  stream.cancelWait?.();
  const decoder = stream.session.detach();
  if (decoder) host.pool.giveBack(decoder);
}

function handle(host: Host, message: Exclude<ToWorker, { type: "init" | "shutdown" }>): void {
  const { streamId } = message;
  switch (message.type) {
    case "open":
      open(host, streamId, message);
      return;
    case "close": {
      const stream = streams.get(streamId);
      if (stream) remove(host, stream);
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
      schedule(host);
      return;
    }
  }
}

function open(host: Host, streamId: number, message: Extract<ToWorker, { type: "open" }>): void {
  const { wordTimestamps, telephone, from } = message;
  try {
    const emit = (event: WireEvent) => send({ type: "event", streamId, event });
    const onCheckpoint = (checkpoint: SessionCheckpoint) => send({ type: "checkpoint", streamId, checkpoint });
    const options = {
      wordTimestamps,
      postspeechMs: host.postspeechMs,
      externalEndpointing: host.externalEndpointing,
      checkpoints: host.checkpoints,
      ...(host.telephoneMllr
        ? { mllr: { path: telephone ? host.telephoneMllr.path : undefined, identity: host.telephoneMllr.identity } }
        : {}),
    };
    const session = new DecodingSession(options, emit, onCheckpoint, host.checkpoints ? from : undefined);
    streams.set(streamId, {
      id: streamId,
      session,
      work: [],
      queued: 0,
      cancelWait: undefined,
      batch: message.batch === true,
    });
    send({ type: "opened", streamId });
  } catch (error) {
    send({ type: "open-failed", streamId, message: messageOf(error) });
  }
}

/**
 * Whether the stream can take its turn: its next work needs no decoder, or it has one (borrowed now
 * if one is free). Otherwise it waits in line, and the decoder it gets schedules a round.
 */
function ready(host: Host, stream: WorkerStream): boolean {
  const first = stream.work[0];
  if (!first || stream.session.decoder || !stream.session.needsDecoder(first.type)) return true;
  if (stream.cancelWait) return false;
  const decoder = host.pool.borrow();
  if (decoder) {
    try {
      stream.session.attach(decoder);
    } catch (error) {
      host.pool.discard(decoder);
      throw error;
    }
    return true;
  }
  stream.cancelWait = host.pool.wait(
    (lent) => {
      stream.cancelWait = undefined;
      if (streams.get(stream.id) !== stream) {
        host.pool.giveBack(lent);
        return;
      }
      try {
        stream.session.attach(lent);
      } catch (error) {
        host.pool.discard(lent);
        fail(host, stream, error);
        return;
      }
      schedule(host);
    },
    (error) => {
      stream.cancelWait = undefined;
      if (streams.get(stream.id) === stream) fail(host, stream, error);
    },
  );
  return false;
}

/**
 * Fair scheduling: each round gives every stream with work at most `QUANTUM_SAMPLES` of decoding
 * (plus any flush or end behind it), then yields so that new messages are read. A stream that
 * pushed a minute of audio at once takes turns with the others instead of holding the process.
 */
function schedule(host: Host): void {
  if (roundScheduled) return;
  roundScheduled = true;
  setImmediate(() => {
    roundScheduled = false;
    runRound(host);
  });
}

function runRound(host: Host): void {
  busy.update();
  let nextHold = Number.POSITIVE_INFINITY;
  const now = performance.now();
  // Live streams finishing an utterance first, then the other live ones, then files (round-order.ts).
  const all = [...streams.values()];
  const finishingNow = new Set(all.filter(finishing));
  const { turns, deferred } = roundOrder(
    all.map((stream) => ({
      stream,
      batch: stream.batch,
      finishing: finishingNow.has(stream),
      hasWork: stream.work.length > 0,
    })),
    batchRounds,
  );
  if (deferred > 0) {
    batchRounds++;
    schedule(host);
  }
  for (const { stream } of turns) {
    const at = readyAt(host, stream);
    if (at > now) {
      nextHold = Math.min(nextHold, at);
      continue;
    }
    try {
      if (!ready(host, stream)) continue;
      // A file's turn is a quantum even at a flush: it must not hold live streams for a second of audio.
      const toFlush = finishingNow.has(stream) && !stream.batch;
      runTurn(host, stream, toFlush ? FINISHING_SAMPLES : QUANTUM_SAMPLES, toFlush);
    } catch (error) {
      fail(host, stream, error);
      continue;
    }
    // Between utterances with nothing queued: the decoder goes back for others.
    if (host.lend && streams.get(stream.id) === stream && stream.work.length === 0 && stream.session.canLend) {
      const decoder = stream.session.detach();
      if (decoder) host.pool.giveBack(decoder);
    }
    const next = readyAt(host, stream);
    if (next <= now) schedule(host);
    else nextHold = Math.min(nextHold, next);
  }
  clearTimeout(holdTimer);
  holdTimer = undefined;
  if (nextHold !== Number.POSITIVE_INFINITY) {
    holdTimer = setTimeout(() => schedule(host), Math.max(0, nextHold - performance.now()));
  }
}

/** A flush or the end is queued: the stream's utterance has ended and its final waits for its audio. */
function finishing(stream: WorkerStream): boolean {
  return stream.work.some((item) => item.type !== "push");
}

/** Decodes up to `budget` samples of the stream's work; `toFlush`: stop after its first flush. */
function runTurn(host: Host, stream: WorkerStream, budget: number, toFlush: boolean): void {
  while (budget > 0) {
    const item = stream.work[0];
    if (!item) return;
    // A flush without a decoder may leave the next push needing one: that is the next round's.
    if (!stream.session.decoder && stream.session.needsDecoder(item.type)) return;
    if (item.type === "push") {
      const take = Math.min(budget, item.pcm.length - item.done);
      const started = performance.now();
      stream.session.push(item.pcm.subarray(item.done, item.done + take));
      const busyMs = performance.now() - started;
      item.busyMs += busyMs;
      busy.note(busyMs);
      item.done += take;
      stream.queued -= take;
      budget -= take;
      if (item.done < item.pcm.length) return;
      stream.work.shift();
      send({ type: "consumed", streamId: stream.id, samples: item.pcm.length, busyMs: item.busyMs });
    } else if (item.type === "flush") {
      stream.work.shift();
      stream.session.flush(item.pauseAtMs);
      if (toFlush) return;
    } else {
      stream.work.length = 0;
      stream.session.end();
      remove(host, stream);
      send({ type: "ended", streamId: stream.id });
      return;
    }
  }
}

let host: Host | undefined;
/** `init` came: the process starts once, whatever follows. */
let initialized = false;
process.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "init":
      if (initialized) return;
      initialized = true;
      void start(message.config).then((started) => {
        host = started;
        // Not started: `failed` was sent; exit once it is out.
        if (!started) process.disconnect();
        return started;
      });
      return;
    case "shutdown":
      // The decoders' memory goes with the process; skipping their frees makes the stop prompt.
      process.exit(0);
      return;
    default:
      if (host) handle(host, message);
  }
});
exitWithParent();
