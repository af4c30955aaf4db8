/**
 * What one connection sends, bounded. While the socket keeps up, messages go straight to it. Once
 * it holds more than `congestedBytes` (the peer reads slower than we write), messages wait here in
 * order, except partials: only the latest partial waits (a newer one replaces it, the final of its
 * segment drops it, since the final supersedes it). When what waits here plus what the socket holds
 * passes `maxBytes`, the peer is too far behind and `overflow` is called (the connection closes
 * with `slow_consumer`; the session keeps its finals for a resume).
 *
 * Every write's completion is progress: a peer that takes none of our bytes for a while has stopped
 * reading (`stalledMs`), whatever it still sends us.
 */
import type { ServerMessage, TranscriptMessage } from "@earshot/protocol";

/** What the queue sends: a tagged message; a `transcript` of another surface may add a `channel`. */
export type OutboundMessage = { readonly type: string };
type QueuedTranscript = TranscriptMessage & { readonly channel?: number };

/** The part of a `ws` WebSocket the queue writes to. */
export interface OutboundSocket {
  /** Bytes accepted by `send` and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /** `callback` runs once the message is handed to the kernel (or failed). */
  send(data: string, callback: (error?: Error) => void): void;
}

export interface OutboundLimits {
  /** Socket bytes above which partials coalesce and other messages wait here. */
  readonly congestedBytes: number;
  /** Bytes waiting here plus in the socket above which the peer is too slow (`overflow`). */
  readonly maxBytes: number;
}

/** Socket bytes above which a connection is congested: 64 KiB, or a quarter of a smaller limit. */
export const CONGESTED_BYTES = 64 * 1024;

export function outboundLimits(maxBytes: number): OutboundLimits {
  return { maxBytes, congestedBytes: Math.min(CONGESTED_BYTES, Math.floor(maxBytes / 4)) };
}

export interface OutboundEvents {
  /** The peer fell more than `maxBytes` behind (called once). */
  overflow(): void;
  /** A partial was not sent: a newer partial or its segment's final superseded it. */
  coalesced(): void;
  /** The bytes waiting here changed by `delta` (for the gauge of all connections). */
  waitingBytesChanged(delta: number): void;
}

interface Waiting<M extends OutboundMessage> {
  readonly message: M;
  /** A partial replaced while it waited: skipped when its turn comes (no search through the queue). */
  superseded: boolean;
  /** The JSON, made when the message was queued; undefined for a redelivered final (made when sent). */
  readonly text: string | undefined;
  /** What counts toward `maxBytes`: 0 for a redelivered final and for the one waiting partial. */
  readonly bytes: number;
}

/** How often a congested socket is checked for room, besides each write's completion. */
const DRAIN_POLL_MS = 25;

export class OutboundQueue<M extends OutboundMessage = ServerMessage> {
  readonly #socket: OutboundSocket;
  readonly #limits: OutboundLimits;
  readonly #events: OutboundEvents;
  readonly #waiting: Waiting<M>[] = [];
  /** The one partial that waits, if any, per channel (a plain stream has one, `undefined`). */
  readonly #waitingPartials = new Map<number | undefined, Waiting<M>>();
  #waitingBytes = 0;
  /** Writes handed to the socket whose completion has not come yet. */
  #unwritten = 0;
  /** When the socket last made progress (a write completed), or last went from idle to busy. */
  #progressAt = 0;
  #pollTimer: NodeJS.Timeout | undefined;
  #overflowed = false;
  #closed = false;

  constructor(socket: OutboundSocket, limits: OutboundLimits, events: OutboundEvents) {
    this.#socket = socket;
    this.#limits = limits;
    this.#events = events;
  }

  /**
   * Sends now, or queues. `redelivered`: a final the session keeps anyway (sent again on resume),
   * so waiting costs no memory and does not count toward `maxBytes`.
   */
  send(message: M, redelivered = false): void {
    if (this.#closed) return;
    const transcript = message.type === "transcript" ? (message as unknown as QueuedTranscript) : undefined;
    const partial = transcript !== undefined && !transcript.is_final;
    if (transcript) this.#dropWaitingPartial(transcript, partial);
    if (this.#waiting.length === 0 && !this.#congested) {
      this.#write(JSON.stringify(message));
      return;
    }
    if (partial || redelivered) {
      const entry = { message, text: undefined, bytes: 0, superseded: false };
      this.#waiting.push(entry);
      if (partial) this.#waitingPartials.set(transcript?.channel, entry);
    } else {
      const text = JSON.stringify(message);
      const bytes = Buffer.byteLength(text);
      this.#waiting.push({ message, text, bytes, superseded: false });
      this.#setWaitingBytes(this.#waitingBytes + bytes);
    }
    this.#schedule();
    if (!this.#overflowed && this.#waitingBytes + this.#socket.bufferedAmount > this.#limits.maxBytes) {
      this.#overflowed = true;
      this.#events.overflow();
    }
  }

  /** Bytes waiting here (not yet handed to the socket), as counted toward `maxBytes`. */
  get waitingBytes(): number {
    return this.#waitingBytes;
  }

  /** How long a write has been waiting for the peer to take bytes (0 when the socket is idle). */
  stalledMs(now: number): number {
    return this.#unwritten > 0 ? now - this.#progressAt : 0;
  }

  /** Hands everything waiting to the socket, congested or not (the connection is closing). */
  flush(): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    for (let next = this.#shift(); next; next = this.#shift()) this.#write(next);
  }

  /** Forgets what waits (the peer is dropped) and sends nothing more unless `send` is called again. */
  clear(): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#waiting.length = 0;
    this.#waitingPartials.clear();
    this.#setWaitingBytes(0);
  }

  /** No more sending: what waits is forgotten. */
  close(): void {
    this.clear();
    this.#closed = true;
  }

  get #congested(): boolean {
    return this.#socket.bufferedAmount > this.#limits.congestedBytes;
  }

  /**
   * A transcript supersedes the waiting partial of its segment (a final, or a newer partial). A
   * newer partial of another segment cannot come first (each segment ends with its final), but if
   * it did, the old one would be stale as well. Transcripts of several channels (a call) share the
   * queue: only those of the same channel supersede each other.
   */
  #dropWaitingPartial(transcript: QueuedTranscript, partial: boolean): void {
    const waiting = this.#waitingPartials.get(transcript.channel);
    if (!waiting) return;
    const sameSegment = (waiting.message as unknown as QueuedTranscript).segment_id === transcript.segment_id;
    if (!partial && !sameSegment) return;
    waiting.superseded = true;
    this.#waitingPartials.delete(transcript.channel);
    this.#events.coalesced();
  }

  #write(text: string): void {
    if (this.#unwritten === 0) this.#progressAt = Date.now();
    this.#unwritten += 1;
    this.#socket.send(text, () => {
      this.#unwritten -= 1;
      this.#progressAt = Date.now();
      this.#drain();
    });
  }

  /** The next waiting message's JSON, or undefined when none waits. */
  #shift(): string | undefined {
    let next = this.#waiting.shift();
    while (next?.superseded) next = this.#waiting.shift();
    if (!next) return undefined;
    if (next.message.type === "transcript") {
      const channel = (next.message as unknown as QueuedTranscript).channel;
      if (this.#waitingPartials.get(channel) === next) this.#waitingPartials.delete(channel);
    }
    if (next.bytes > 0) this.#setWaitingBytes(this.#waitingBytes - next.bytes);
    return next.text ?? JSON.stringify(next.message);
  }

  /** Hands waiting messages to the socket while it has room. */
  #drain(): void {
    if (this.#closed) return;
    while (this.#waiting.length > 0 && !this.#congested) {
      const text = this.#shift();
      if (text === undefined) break;
      this.#write(text);
    }
    if (this.#waiting.length > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#pollTimer) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      this.#drain();
    }, DRAIN_POLL_MS);
    this.#pollTimer.unref();
  }

  #setWaitingBytes(bytes: number): void {
    const delta = bytes - this.#waitingBytes;
    this.#waitingBytes = bytes;
    if (delta !== 0) this.#events.waitingBytesChanged(delta);
  }
}
