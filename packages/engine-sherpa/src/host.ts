/**
 * A sherpa-onnx host process: loads every model's recognizer once and decodes all the streams the
 * engine puts here, batching them (research notes A.5): each step collects the streams that have a
 * whole chunk ready, grouped by recognizer, and runs one `decodeStreams` per group of up to
 * `maxBatch`, one chunk per stream. A stream with a long backlog therefore gets one chunk per step
 * like every other, and steps are separate macrotasks, so new audio and other messages are taken
 * between them. The native API is synchronous; this process does nothing else.
 *
 * Started by `HostProcess` (child_process.fork, IPC with structured clone); speaks host-messages.ts.
 */

import { exitWithParent } from "@earshot/engines";
import type { FromHost, HostConfig, ToHost, WireEvent } from "./host-messages.js";
import { HostStream } from "./host-stream.js";
import { loadRecognizerClass, type NativeRecognizer } from "./native.js";
import { RecognizerPool } from "./recognizer-pool.js";

const send = (message: FromHost) => process.send?.(message);

let config: HostConfig | undefined;
let pool: RecognizerPool | undefined;
const streams = new Map<number, HostStream>();
/** Streams that accepted audio since their last step, decoded or not yet. */
const pending = new Set<HostStream>();
let stepScheduled = false;

function init(next: HostConfig): void {
  try {
    pool = new RecognizerPool(loadRecognizerClass(), next.models, next.settings, next.maxKeytermRecognizers);
    config = next;
    send({ type: "ready" });
  } catch (error) {
    send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}

function open(message: Extract<ToHost, { type: "open" }>): void {
  if (!pool || !config) return;
  const emit = (event: WireEvent) => send({ type: "event", streamId: message.streamId, event });
  try {
    const lease = pool.acquire(message.model, message.keyterms);
    const stream = new HostStream({
      id: message.streamId,
      lease,
      endpointingMs: message.endpointingMs,
      wordTimestamps: message.wordTimestamps,
      tailPaddingMs: lease.model.tailPaddingMs,
      emit,
    });
    streams.set(message.streamId, stream);
    send({ type: "opened", streamId: message.streamId });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    send({ type: "open-failed", streamId: message.streamId, message: text });
  }
}

function scheduleStep(): void {
  if (stepScheduled) return;
  stepScheduled = true;
  setImmediate(step);
}

/** One chunk for every ready stream, batched per recognizer. */
function step(): void {
  stepScheduled = false;
  const maxBatch = config?.maxBatch ?? 1;
  const started = performance.now();
  const groups = new Map<NativeRecognizer, HostStream[]>();
  for (const stream of pending) {
    if (!stream.ready) continue;
    const group = groups.get(stream.lease.recognizer) ?? [];
    group.push(stream);
    groups.set(stream.lease.recognizer, group);
  }
  const batchSizes: number[] = [];
  for (const [recognizer, group] of groups) {
    for (let i = 0; i < group.length; i += maxBatch) {
      const batch = group.slice(i, i + maxBatch);
      const batchStarted = performance.now();
      recognizer.decodeStreams(batch.map((stream) => stream.native));
      const share = (performance.now() - batchStarted) / batch.length;
      batchSizes.push(batch.length);
      for (const stream of batch) {
        stream.addProcessing(share);
        stream.afterDecode();
      }
    }
  }
  report(batchSizes, performance.now() - started);
  if (pending.size > 0) scheduleStep();
}

/** Tells the parent which streams have decoded all they can for now (their backlog is gone). */
function report(batchSizes: number[], busyMs: number): void {
  const consumed: Array<[number, number]> = [];
  for (const stream of pending) {
    if (stream.ready) continue;
    pending.delete(stream);
    consumed.push([stream.id, stream.unreported]);
    stream.unreported = 0;
  }
  if (batchSizes.length > 0 || consumed.length > 0) send({ type: "decoded", batchSizes, busyMs, consumed });
}

/** Flush or end: this stream's ready chunks first, then its forced final. */
function close(stream: HostStream, how: "flush" | "end", pauseAtMs?: number): void {
  const started = performance.now();
  if (how === "flush") stream.flush(pauseAtMs);
  else stream.end();
  pending.delete(stream);
  send({
    type: "decoded",
    batchSizes: [],
    busyMs: performance.now() - started,
    consumed: [[stream.id, stream.unreported]],
  });
  stream.unreported = 0;
}

process.on("message", (message: ToHost) => {
  switch (message.type) {
    case "init":
      init(message.config);
      return;
    case "open":
      open(message);
      return;
    case "push": {
      const stream = streams.get(message.streamId);
      if (!stream || message.pcm.length === 0) return;
      stream.accept(message.pcm);
      pending.add(stream);
      scheduleStep();
      return;
    }
    case "flush": {
      const stream = streams.get(message.streamId);
      if (stream) close(stream, "flush", message.pauseAtMs);
      return;
    }
    case "end": {
      const stream = streams.get(message.streamId);
      if (!stream) return;
      close(stream, "end");
      streams.delete(message.streamId);
      send({ type: "ended", streamId: message.streamId });
      return;
    }
    case "close": {
      const stream = streams.get(message.streamId);
      stream?.lease.release();
      if (stream) pending.delete(stream);
      streams.delete(message.streamId);
      return;
    }
    case "shutdown":
      process.exit(0);
  }
});

exitWithParent();
