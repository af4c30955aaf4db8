/**
 * Many SDK streams of eval speech at once, as issue 18's proofs send them through a cluster: each
 * stream its own order of short eval clips, one clip per slot of fixed length (so every stream is
 * silent at the same moments: the end of each slot), sent in lockstep on one absolute clock, every
 * message each way recorded. The uninterrupted run of the same audio is the reference each stream
 * is compared with, word for word (same-finals.ts).
 */
import assert from "node:assert/strict";
import {
  type CloseResult,
  EarshotClientError,
  type EarshotClientOptions,
  nodeTransport,
  type TransportFactory,
} from "@earshot/client";
import { loadEvalSet, loadPcm, mulberry32 } from "@earshot/test-support";
import { type SdkRun, sleep, startRun } from "./sdk-run.js";

/** The eval set's clips of at most 3 s (1.1 to 3 s, three to eight words): cheap to decode many times. */
export const SHORT_CLIPS = [
  "ps-cards-001",
  "ps-cards-003",
  "ps-cards-002",
  "ls-1089-134691-0000",
  "ps-goforward",
  "ps-librivox-0880",
] as const;

/**
 * Silence after the longest clip of a slot: the VAD ends the utterance 200 ms into it, so from
 * 0.5 s on every stream is between utterances until the next slot starts.
 */
const MIN_PAUSE_MS = 900;

/**
 * Stream `index`'s clips (index < 12, slots ≤ 6): the clips forward from clip `index % 6` for the
 * first six streams, backward for the next six, so no two streams are alike and a stream continued
 * with another's state or audio would show.
 */
export function streamClips(index: number, slots: number): string[] {
  const count = SHORT_CLIPS.length;
  assert.ok(index < 2 * count && slots <= count, `${index} ${slots}`);
  const step = index < count ? 1 : count - 1;
  return Array.from({ length: slots }, (_, slot) => SHORT_CLIPS[(index + slot * step) % count] ?? "");
}

/** `ids` one per slot of `slotMs`: each clip at its slot's start, silence to the slot's end. */
export function slottedSpeech(ids: readonly string[], slotMs: number): Int16Array {
  const set = loadEvalSet();
  const slot = slotMs * 16;
  const out = new Int16Array(ids.length * slot);
  ids.forEach((id, i) => {
    const utterance = set.find((u) => u.id === id);
    if (!utterance) throw new Error(`no eval utterance ${id}`);
    const clip = loadPcm(utterance.path);
    assert.ok(
      clip.length + MIN_PAUSE_MS * 16 <= slot,
      `${id} (${clip.length / 16} ms) does not fit a ${slotMs} ms slot`,
    );
    out.set(clip, i * slot);
  });
  return out;
}

/** An SDK stream with the audio it sends and every text message of its connections, both ways. */
export interface FleetStream {
  readonly index: number;
  readonly run: SdkRun;
  readonly audio: Int16Array;
  /** Text messages the client sent, on every connection, in order. */
  readonly sent: string[];
  /** Text messages the server sent, on every connection, in order (transcripts left out). */
  readonly received: string[];
}

/** The stream's current resume token (its last `session_started`; a resumed session keeps it). */
export function resumeToken(stream: FleetStream): string {
  const sessions = stream.received
    .filter((text) => text.includes('"session_started"'))
    .map((text) => JSON.parse(text) as { resume_token: string });
  const last = sessions.at(-1);
  assert.ok(last, `stream ${stream.index} has no session`);
  return last.resume_token;
}

/** Whether the stream is connected, in a session (not reconnecting). */
export const isOpen = (stream: FleetStream): boolean => stream.run.states.at(-1)?.to === "open";

/** `start_sample` of each `config` the stream sent (0 for its first session): where each of its sessions began. */
export function sessionStarts(stream: FleetStream): number[] {
  return stream.sent
    .map((text) => JSON.parse(text) as { type?: string; config?: { start_sample?: number } })
    .filter((message) => message.type === "config")
    .map((message) => message.config?.start_sample ?? 0);
}

/**
 * Where the stream went on in a new decoder after losing its node, in samples: each later session's
 * `start_sample` (a new session after `session_not_found`) and each `session_resumed` with
 * `moved: true` (another node took the session over from Redis: it goes on at `received_samples`).
 */
export function continuations(stream: FleetStream): number[] {
  const moved = receivedOfType(stream, "session_resumed")
    .filter((message) => message.moved === true)
    .map((message) => Number(message.received_samples));
  return [...sessionStarts(stream).slice(1), ...moved];
}

/** Messages of `type` the server sent this stream. */
export function receivedOfType(stream: FleetStream, type: string): Array<Record<string, unknown>> {
  return stream.received
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .filter((message) => message.type === type);
}

/** SDK options for these streams: fast reconnects with seeded jitter, word timestamps, patient timeouts (a loaded machine). */
export function fleetClientOptions(
  url: string,
  credential: Pick<EarshotClientOptions, "apiKey" | "token">,
  seed: number,
): EarshotClientOptions {
  return {
    url,
    ...credential,
    config: { language: "en", timestamp_granularity: "word" },
    reconnect: { baseDelayMs: 20, maxDelayMs: 250, random: mulberry32(seed) },
    heartbeatTimeoutMs: 10_000,
    connectTimeoutMs: 10_000,
    closeTimeoutMs: 30_000,
  };
}

/** A transport that records the text messages of every connection (each way) before the client sees them. */
export function recording(sent: string[], received: string[]): TransportFactory {
  return (request, handlers) => {
    const transport = nodeTransport(request, {
      ...handlers,
      message(data) {
        if (typeof data === "string" && !data.includes('"type":"transcript"')) received.push(data);
        handlers.message(data);
      },
    });
    const send = transport.send.bind(transport);
    transport.send = (data) => {
      if (typeof data === "string") sent.push(data);
      send(data);
    };
    return transport;
  };
}

/**
 * Opens one stream per audio, one after another (so `leastconn` spreads them evenly). A first
 * connection refused as retryable (a node busy beyond 100%, or HAProxy with no node up for a
 * moment) is tried again, as an application would: the SDK retries only once a stream runs.
 */
export async function openStreams(
  url: string,
  apiKey: string,
  audios: readonly Int16Array[],
  seed: number,
): Promise<FleetStream[]> {
  const streams: FleetStream[] = [];
  for (const [index, audio] of audios.entries()) {
    for (let attempt = 1; ; attempt++) {
      const sent: string[] = [];
      const received: string[] = [];
      const run = startRun({
        ...fleetClientOptions(url, { apiKey }, seed + index),
        transport: recording(sent, received),
      });
      try {
        await run.client.connect();
        streams.push({ index, run, audio, sent, received });
        break;
      } catch (error) {
        if (!(error instanceof EarshotClientError && error.retryable) || attempt === 100) throw error;
        await sleep(200);
      }
    }
  }
  return streams;
}

export interface LockstepOptions {
  /** Audio per `send()`, ms (default 100). */
  readonly pieceMs?: number;
  /** Times faster than real time; Infinity sends everything at once. */
  readonly speed: number;
  /**
   * Called before piece `index` goes to any stream (awaited: the clock waits with it, so what the
   * test does there takes no audio away from the streams, it only delays it).
   */
  readonly before?: (index: number) => unknown;
}

/** Sends every stream's audio, piece by piece, all streams at the same stream position. */
export async function sendInLockstep(streams: readonly FleetStream[], options: LockstepOptions): Promise<void> {
  const pieceMs = options.pieceMs ?? 100;
  const pieceSamples = pieceMs * 16;
  const pieces = Math.max(...streams.map((s) => Math.ceil(s.audio.length / pieceSamples)));
  let clock = Date.now();
  for (let i = 0; i < pieces; i++) {
    if (options.before) {
      const pausedAt = Date.now();
      await options.before(i);
      clock += Date.now() - pausedAt;
    }
    for (const stream of streams)
      stream.run.client.send(stream.audio.subarray(i * pieceSamples, (i + 1) * pieceSamples));
    if (Number.isFinite(options.speed)) {
      const due = clock + ((i + 1) * pieceMs) / options.speed;
      await sleep(Math.max(0, due - Date.now()));
    }
  }
}

/** `close()` on every stream at once: each resolves once its last finals and `stream_closed` came. */
export function closeStreams(streams: readonly FleetStream[]): Promise<CloseResult[]> {
  return Promise.all(streams.map((stream) => stream.run.client.close()));
}

/**
 * The reference: the same streams, all audio at once, no fault; each must close cleanly without a
 * reconnect. Stream i goes straight to `urls[i % urls.length]`: at full speed every node is busy
 * beyond 100% for a while, answers `/readyz` 503 and HAProxy would take it out.
 */
export async function uninterrupted(
  urls: readonly string[],
  apiKey: string,
  audios: readonly Int16Array[],
): Promise<FleetStream[]> {
  const streams: FleetStream[] = [];
  for (const [index, audio] of audios.entries()) {
    const [stream] = await openStreams(urls[index % urls.length] ?? "", apiKey, [audio], 1);
    assert.ok(stream);
    streams.push({ ...stream, index });
  }
  await sendInLockstep(streams, { speed: Number.POSITIVE_INFINITY });
  const results = await closeStreams(streams);
  for (const [i, result] of results.entries()) {
    assert.equal(result.code, 1000, `reference stream ${i}`);
    assert.ok(!streams[i]?.run.states.some((s) => s.to === "reconnecting"), `reference stream ${i} had no drop`);
  }
  return streams;
}
