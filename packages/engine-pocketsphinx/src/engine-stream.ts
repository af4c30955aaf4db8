/**
 * The `EngineStream` `PocketSphinxEngine.openStream` returns: a stream decoded in a decoding
 * process that survives that process. It keeps the stream's last checkpoint (taken by the process at
 * every flush, decoding-session.ts) and everything it was sent since; if the process dies (a native
 * crash, a kill), it opens the stream again on a live process from that checkpoint, replays what
 * came after it, and drops the finals and endpoints it had already passed on. Decoding from a
 * checkpoint is exact, so the caller sees the transcript an uninterrupted run gives (issue 15, item 0).
 *
 * Bounds: at most `MAX_RETAINED_MS` of audio is kept past the checkpoint (behind the VAD gate that
 * is one utterance); beyond it, or after `MAX_RECOVERIES` crashes from the same checkpoint (audio
 * that crashes every decoder it meets), a crash fails the stream with `engine_unavailable`, as before.
 */

import type { EngineEvent, EngineStream } from "@earshot/engines";
import { EngineUnavailableError, EventChannel, shiftEvent } from "@earshot/engines";
import { SAMPLES_PER_MS } from "@earshot/protocol";
import type { SessionCheckpoint, WireEvent } from "./messages.js";
import type { LinkSink, PocketSphinxStream } from "./stream.js";

/** Audio kept for a replay past the last checkpoint: two minutes (3.8 MB). */
export const MAX_RETAINED_MS = 120_000;
/** Crashes survived from one checkpoint; the next one fails the stream. */
export const MAX_RECOVERIES = 2;

/** Opens a link on a live process, continuing from `from` (undefined: from the start). */
export type LinkOpener = (sink: LinkSink, from: SessionCheckpoint | undefined) => Promise<PocketSphinxStream>;

type Sent =
  | { readonly type: "push"; readonly pcm: Int16Array }
  | { readonly type: "flush"; readonly pauseAtMs?: number };

interface Counts {
  finals: number;
  endpoints: number;
}

export class PocketSphinxEngineStream implements EngineStream {
  readonly #open: LinkOpener;
  /** Stream sample of the decoding session's sample 0 (`startSample`, or before a `resumeFrom`). */
  readonly #offsetSample: number;
  readonly #offsetMs: number;
  readonly #events = new EventChannel<EngineEvent>();
  #link: PocketSphinxStream | undefined;
  /** The sink of the link that is current (or opening). */
  #current: LinkSink | undefined;
  /** What was sent since the last checkpoint, in order. */
  #sent: Sent[] = [];
  #sentSamples = 0;
  /** False once more than `MAX_RETAINED_MS` is past the checkpoint: a crash then fails the stream. */
  #retaining = true;
  /** Flushes sent before the first item of `#sent`. */
  #flushBase = 0;
  #checkpoint: SessionCheckpoint | undefined;
  /**
   * Finals and endpoints passed on since the checkpoint, over every link since it; and those the
   * current link has sent since it. A link replays from the checkpoint, so its first `delivered`
   * finals and endpoints were passed on already (decoding from a checkpoint is exact) and are dropped.
   */
  #delivered: Counts = { finals: 0, endpoints: 0 };
  #seen: Counts = { finals: 0, endpoints: 0 };
  #recoveries = 0;
  /** The link was closed to give its decoder back (`suspend`); the next work opens a new one. */
  #suspended = false;
  #state: "open" | "ending" | "done" = "open";
  #endWaiters: Array<() => void> = [];

  private constructor(open: LinkOpener, offsetSample: number, from: SessionCheckpoint | undefined) {
    this.#open = open;
    this.#offsetSample = offsetSample;
    this.#offsetMs = Math.round(offsetSample / SAMPLES_PER_MS);
    this.#checkpoint = from;
    this.#flushBase = from?.flushes ?? 0;
  }

  /**
   * Opens the stream on a live process; rejects as the process's open did. With `from` (a
   * `resumeFrom` state), the stream continues that checkpoint: its first sample is stream sample
   * `startSample`, the checkpoint's `atSample`, and the decoding session's counters go on from the
   * checkpoint's `samples`, so its session sample 0 is `startSample - from.samples`.
   */
  static async open(
    open: LinkOpener,
    startSample: number,
    from?: SessionCheckpoint,
  ): Promise<PocketSphinxEngineStream> {
    const stream = new PocketSphinxEngineStream(open, startSample - (from?.samples ?? 0), from);
    stream.#link = await open(stream.#sink(), from);
    return stream;
  }

  get backlogMs(): number {
    return this.#link ? this.#link.backlogMs : this.#sentSamples / SAMPLES_PER_MS;
  }

  push(pcm: Int16Array): void {
    if (this.#state !== "open" || pcm.length === 0) return;
    this.#retain({ type: "push", pcm: pcm.slice() }, pcm.length);
    this.#link?.push(pcm);
    this.#wake();
  }

  flush(pause?: { readonly atMs: number }): void {
    if (this.#state !== "open") return;
    const pauseAtMs = pause === undefined ? undefined : pause.atMs - this.#offsetMs;
    this.#retain(pauseAtMs === undefined ? { type: "flush" } : { type: "flush", pauseAtMs }, 0);
    this.#link?.flush(pauseAtMs === undefined ? undefined : { atMs: pauseAtMs });
    this.#wake();
  }

  end(): Promise<void> {
    if (this.#state === "done") return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#endWaiters.push(resolve));
    if (this.#state === "open") {
      this.#state = "ending";
      void this.#link?.end();
      this.#wake();
    }
    return done;
  }

  /**
   * Give the decoder back now, mid-utterance too: the link to the process is closed (which returns
   * its decoder to the pool) and the next push, flush or end opens a new one from the checkpoint and
   * replays what came after it, as after a crash. Between utterances there is nothing to do: the
   * process gave the decoder back after the flush. Not possible past `MAX_RETAINED_MS` of audio
   * since the checkpoint: the stream then keeps its decoder.
   */
  suspend(): void {
    const link = this.#link;
    if (this.#state !== "open" || !link || !link.speaking || !this.#retaining) return;
    this.#link = undefined;
    this.#current = undefined;
    this.#suspended = true;
    this.#seen = { finals: 0, endpoints: 0 };
    link.close();
  }

  close(): void {
    if (this.#state === "done") return;
    const link = this.#link;
    this.#link = undefined;
    link?.close();
    this.#events.clear();
    this.#finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  #retain(item: Sent, samples: number): void {
    if (!this.#retaining) return;
    this.#sent.push(item);
    this.#sentSamples += samples;
    if (this.#sentSamples > MAX_RETAINED_MS * SAMPLES_PER_MS) {
      this.#retaining = false;
      this.#sent = [];
      this.#sentSamples = 0;
    }
  }

  /**
   * A sink for a new link, which becomes the current one: replies of any other link (one closed by
   * `suspend`, whose last events may still be on their way) are ignored.
   */
  #sink(): LinkSink {
    const sink: LinkSink = {
      event: (event) => {
        if (sink === this.#current) this.#receive(event);
      },
      checkpoint: (checkpoint) => {
        if (sink === this.#current) this.#checkpointed(checkpoint);
      },
      ended: () => {
        if (sink !== this.#current) return;
        this.#events.end();
        this.#finish();
      },
      lost: (error) => void this.#lost(sink, error),
    };
    this.#current = sink;
    return sink;
  }

  #receive(event: WireEvent): void {
    if (this.#state === "done") return;
    if (event.type === "error") {
      this.#fail(new EngineUnavailableError(event.message));
      return;
    }
    const seen = this.#seen;
    const delivered = this.#delivered;
    if (event.type === "final") {
      seen.finals++;
      if (seen.finals <= delivered.finals) return;
      delivered.finals = seen.finals;
    } else if (event.type === "partial") {
      if (seen.finals < delivered.finals) return;
    } else if (event.type === "endpoint") {
      seen.endpoints++;
      if (seen.endpoints <= delivered.endpoints) return;
      delivered.endpoints = seen.endpoints;
    }
    this.#events.push(shiftEvent(event, this.#offsetMs));
  }

  /**
   * Everything up to the checkpoint's flush is decoded for good: forget it, and tell the caller
   * where the stream can be continued (after the flush's final and endpoint, which came first).
   */
  #checkpointed(checkpoint: SessionCheckpoint): void {
    this.#checkpoint = checkpoint;
    if (this.#state !== "done") {
      this.#events.push({ type: "checkpoint", atSample: this.#offsetSample + checkpoint.samples, state: checkpoint });
    }
    this.#delivered = { finals: 0, endpoints: 0 };
    this.#seen = { finals: 0, endpoints: 0 };
    this.#recoveries = 0;
    if (!this.#retaining) {
      // Retention starts again from here.
      this.#retaining = true;
      this.#flushBase = checkpoint.flushes;
      return;
    }
    while (this.#flushBase < checkpoint.flushes) {
      const item = this.#sent.shift();
      if (!item) break;
      if (item.type === "flush") this.#flushBase++;
      else this.#sentSamples -= item.pcm.length;
    }
  }

  /** A suspended stream has work again: it continues on a new link. */
  #wake(): void {
    if (!this.#suspended) return;
    this.#suspended = false;
    void this.#reconnect(new EngineUnavailableError("pocketsphinx has no decoding process to continue the stream"));
  }

  async #lost(sink: LinkSink, error: Error): Promise<void> {
    if (this.#state === "done" || sink !== this.#current) return;
    this.#link = undefined;
    this.#current = undefined;
    if (!this.#retaining || this.#recoveries >= MAX_RECOVERIES) {
      this.#fail(error);
      return;
    }
    this.#recoveries++;
    this.#seen = { finals: 0, endpoints: 0 };
    await this.#reconnect(error);
  }

  /** Opens a new link from the checkpoint and replays what was sent after it. */
  async #reconnect(error: Error): Promise<void> {
    let next: PocketSphinxStream;
    const sink = this.#sink();
    try {
      next = await this.#open(sink, this.#checkpoint);
    } catch (reopenError) {
      // The process died (or refused) before the stream was open on it: a stream not open yet gets
      // no loss from its process, so this counts as one here, and the stream tries again while it
      // may (a replacement that crashes on the checkpoint still ends it after MAX_RECOVERIES).
      if (sink === this.#current) await this.#lost(sink, reopenError instanceof Error ? reopenError : error);
      return;
    }
    if (this.#isDone() || sink !== this.#current) {
      next.close();
      return;
    }
    this.#link = next;
    for (const item of this.#sent) {
      if (item.type === "push") next.push(item.pcm);
      else next.flush(item.pauseAtMs === undefined ? undefined : { atMs: item.pauseAtMs });
    }
    if (this.#state === "ending") void next.end();
  }

  /** Read through a method: the state may have changed during an await. */
  #isDone(): boolean {
    return this.#state === "done";
  }

  #fail(error: Error): void {
    if (this.#state === "done") return;
    this.#link?.close();
    this.#link = undefined;
    this.#events.push({ type: "error", error });
    this.#events.end();
    this.#finish();
  }

  #finish(): void {
    this.#state = "done";
    const waiters = this.#endWaiters;
    this.#endWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
