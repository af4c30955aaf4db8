/**
 * The server's calls, by Twilio call SID: live ones, pending ones (a subscriber came first), and
 * ended ones kept for `retentionMs` so a subscriber that reconnects after the end still gets its
 * last finals and `call_ended`. Bounded: a pending call lives only while it has subscribers (each
 * counted against its key's connections), each call keeps a bounded number of messages (`Call`),
 * and ended calls are kept within `maxEndedCalls` and `maxEndedBytes` (the oldest are forgotten first).
 */
import type { KeptCallMessage } from "@earshot/protocol";
import type { Logger } from "pino";
import { Call, type CallSink, type CallStart } from "./call.js";

export interface CallRegistryOptions {
  /** How long an ended call is kept for late subscribers. */
  readonly retentionMs: number;
  /** Ended calls kept at most; the oldest go first. */
  readonly maxEndedCalls: number;
  /** Bytes (as JSON) of the messages ended calls keep, at most; the oldest calls go first. */
  readonly maxEndedBytes: number;
  /** The most subscribers one call may have. */
  readonly maxSubscribersPerCall: number;
  readonly log: Logger;
  /** Told of every message a call keeps (finals, start, end): the webhooks. */
  readonly onKept?: (call: Call, message: KeptCallMessage) => void;
}

export const DEFAULT_CALL_RETENTION_MS = 10 * 60_000;
export const DEFAULT_MAX_ENDED_CALLS = 1000;
export const DEFAULT_MAX_ENDED_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_SUBSCRIBERS_PER_CALL = 16;

export type Subscription =
  | { readonly ok: true; readonly call: Call }
  | { readonly ok: false; readonly code: "not_found" | "too_many_streams"; readonly why: string };

export class CallRegistry {
  readonly #options: CallRegistryOptions;
  readonly #calls = new Map<string, Call>();
  /** Ended calls in the order they ended, with their expiry timers. */
  readonly #ended = new Map<Call, NodeJS.Timeout>();
  #endedBytes = 0;

  constructor(options: CallRegistryOptions) {
    this.#options = options;
  }

  /** Calls with a media stream now. */
  readonly liveCalls = (): number => this.#count((call) => call.state === "live");
  /** Subscribers connected, to every call. */
  readonly subscribers = (): number => {
    let count = 0;
    for (const call of this.#calls.values()) count += call.subscribers;
    return count;
  };

  /** Whether `key` may subscribe to `sid` (the call is unknown yet, or readable by the key). */
  readableBy(sid: string, key: string): boolean {
    return this.#calls.get(sid)?.readableBy(key) ?? true;
  }

  /** `sink` subscribes to call `sid` (a pending call if there is none yet) from after `cursor`. */
  subscribe(sid: string, sink: CallSink, cursor: number): Subscription {
    let call = this.#calls.get(sid);
    if (call && !call.readableBy(sink.key)) return { ok: false, code: "not_found", why: `No call ${sid}.` };
    if (call && call.subscribers >= this.#options.maxSubscribersPerCall) {
      return { ok: false, code: "too_many_streams", why: `Call ${sid} has as many subscribers as the server allows.` };
    }
    if (!call) {
      call = new Call(sid, this.#options.onKept);
      this.#calls.set(sid, call);
    }
    call.subscribe(sink, cursor);
    return { ok: true, call };
  }

  /** A subscriber left; a pending call without subscribers is forgotten. */
  unsubscribe(call: Call, sink: CallSink): void {
    call.unsubscribe(sink);
    if (call.state === "pending" && call.subscribers === 0 && this.#calls.get(call.sid) === call) {
      this.#calls.delete(call.sid);
    }
  }

  /**
   * A media stream starts call `sid`: its pending record, a new one, or a new one that continues
   * an ended one. Undefined when the call already has a stream (or belongs to another key).
   */
  start(sid: string, start: CallStart, owner: string | undefined): Call | undefined {
    const existing = this.#calls.get(sid);
    if (existing?.state === "live") return undefined;
    // A key may not continue another key's call.
    if (existing?.state === "ended" && owner !== undefined && !existing.readableBy(owner)) return undefined;
    let call = existing;
    if (!call || call.state === "ended") {
      if (call) this.#forgetEnded(call);
      call = new Call(sid, this.#options.onKept, call);
      this.#calls.set(sid, call);
    }
    call.start(start, owner);
    return call;
  }

  /** The call ended: kept for late subscribers for `retentionMs`, within `maxEndedCalls`. */
  ended(call: Call): void {
    const timer = setTimeout(() => this.#forgetEnded(call), this.#options.retentionMs);
    timer.unref();
    this.#ended.set(call, timer);
    this.#endedBytes += call.keptBytes;
    const { maxEndedCalls, maxEndedBytes } = this.#options;
    while (this.#ended.size > maxEndedCalls || (this.#ended.size > 1 && this.#endedBytes > maxEndedBytes)) {
      const oldest = this.#ended.keys().next().value;
      if (oldest === undefined) break;
      this.#options.log.info({ call: oldest.sid }, "too many ended calls kept; forgetting the oldest");
      this.#forgetEnded(oldest);
    }
  }

  /** Stops the expiry timers (server shutdown). */
  close(): void {
    for (const timer of this.#ended.values()) clearTimeout(timer);
    this.#ended.clear();
    this.#endedBytes = 0;
  }

  #forgetEnded(call: Call): void {
    const timer = this.#ended.get(call);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#ended.delete(call);
    this.#endedBytes -= call.keptBytes;
    if (this.#calls.get(call.sid) === call) this.#calls.delete(call.sid);
  }

  #count(match: (call: Call) => boolean): number {
    let count = 0;
    for (const call of this.#calls.values()) if (match(call)) count += 1;
    return count;
  }
}
