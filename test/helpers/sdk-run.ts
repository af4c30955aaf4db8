/**
 * An SDK stream as the reliability tests watch it: every `final`, `state`, `audio_lost` and `error`
 * event the application sees, every final that came over the wire (duplicates included, before the
 * client filters them), and paced sending on an absolute clock.
 */
import assert from "node:assert/strict";
import {
  type AudioLostEvent,
  EarshotClient,
  type EarshotClientError,
  type EarshotClientOptions,
  nodeTransport,
  type StateChange,
  type TransportFactory,
} from "@earshot/client";
import type { TranscriptMessage } from "@earshot/protocol";

export interface SdkRun {
  readonly client: EarshotClient;
  /** `final` events, as delivered to the application. */
  readonly finals: TranscriptMessage[];
  readonly states: StateChange[];
  readonly lost: AudioLostEvent[];
  readonly errors: EarshotClientError[];
  /** segment_ids of every final received on any connection, redeliveries included. */
  readonly wireFinalIds: number[];
  /** Sessions started (the first and each new one after a lost session). */
  readonly sessions: string[];
}

export function startRun(options: EarshotClientOptions): SdkRun {
  const wireFinalIds: number[] = [];
  const base = options.transport ?? nodeTransport;
  const transport: TransportFactory = (request, handlers) =>
    base(request, {
      ...handlers,
      message(data) {
        if (typeof data === "string" && data.includes('"is_final":true')) {
          const message = JSON.parse(data) as { type?: string; segment_id?: number };
          if (message.type === "transcript" && typeof message.segment_id === "number") {
            wireFinalIds.push(message.segment_id);
          }
        }
        handlers.message(data);
      },
    });
  const client = new EarshotClient({ ...options, transport });
  const run: SdkRun = { client, finals: [], states: [], lost: [], errors: [], wireFinalIds, sessions: [] };
  client.on("final", (m) => run.finals.push(m));
  client.on("state", (s) => run.states.push(s));
  client.on("audio_lost", (l) => run.lost.push(l));
  client.on("error", (e) => run.errors.push(e));
  client.on("session", (s) => run.sessions.push(s.session_id));
  return run;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PaceOptions {
  /** Audio per `send()`, ms (default 100). */
  readonly pieceMs?: number;
  /** Times faster than real time; Infinity sends everything at once. */
  readonly speed: number;
  /** Called before piece `index` is sent (awaited). */
  readonly before?: (index: number) => unknown;
  /** Channels interleaved in `pcm` (default 1): a piece holds `pieceMs` of every channel. */
  readonly channels?: number;
}

/** Sends `pcm` in pieces on an absolute schedule (no drift from slow timers). */
export async function sendPaced(run: SdkRun, pcm: Int16Array, options: PaceOptions): Promise<void> {
  const pieceSamples = (options.pieceMs ?? 100) * 16 * (options.channels ?? 1);
  const pieces = Math.ceil(pcm.length / pieceSamples);
  const startedAt = Date.now();
  for (let i = 0; i < pieces; i++) {
    await options.before?.(i);
    run.client.send(pcm.subarray(i * pieceSamples, (i + 1) * pieceSamples));
    if (Number.isFinite(options.speed)) {
      const due = startedAt + ((i + 1) * (options.pieceMs ?? 100)) / options.speed;
      await sleep(Math.max(0, due - Date.now()));
    }
  }
}

/** What must match between two runs of the same audio: ids, texts, spans, words with their times. */
/**
 * Finals as the application compares them: segment ids, texts, spans, words and word times. Word
 * confidences are left out: they are lattice posteriors, and a PocketSphinx decoder's differ in
 * the third decimal with what it decoded before, so a stream continued on another decoder (after
 * a drop, a crash or a restart) may show other confidences for the same words.
 */
export function summary(finals: readonly TranscriptMessage[]) {
  return finals.map((f) => ({
    id: f.segment_id,
    text: f.text,
    startMs: f.start_ms,
    endMs: f.end_ms,
    words: f.words?.map((w) => ({ word: w.word, startMs: w.start_ms, endMs: w.end_ms })),
  }));
}

export const transcriptText = (finals: readonly TranscriptMessage[]) =>
  finals
    .map((f) => f.text)
    .filter(Boolean)
    .join(" ");

/** Finals reached the application once each, in increasing segment_id order, and nothing was lost. */
export function assertExactlyOnce(run: SdkRun): void {
  const ids = run.finals.map((f) => f.segment_id);
  assert.equal(new Set(ids).size, ids.length, `duplicate segment_id among finals: ${ids.join(",")}`);
  for (let i = 1; i < ids.length; i++) {
    assert.ok((ids[i] ?? 0) > (ids[i - 1] ?? 0), `segment_ids not increasing: ${ids.join(",")}`);
  }
  assert.deepEqual(run.lost, [], "audio_lost events");
}

/** `reconnecting → open` transitions, with whether the session was resumed. */
export const reopenings = (run: SdkRun) => run.states.filter((s) => s.from === "reconnecting" && s.to === "open");
