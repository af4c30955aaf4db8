/**
 * One phone call as its subscribers see it: `pending` (a subscriber came before the call), `live`
 * (a media stream feeds it), `ended`. It numbers what a subscriber must not miss (`call_started`,
 * finals, `call_ended`) with a `cursor` and keeps those messages, so a subscriber that connects
 * late or reconnects with `?cursor=N` gets every one after N, once, then the live ones. Partials
 * and `utterance_end` go only to the subscribers connected at the time (as on a stream's resume).
 * Every state change goes through `#transition`, checked against `CALL_TRANSITIONS`.
 */
import {
  type CallChannel,
  type CallEndReason,
  type CallEventMessage,
  type CallSpeaker,
  type CallStartedMessage,
  defineError,
  type KeptCallMessage,
  type TranscriptMessage,
  type UtteranceEndMessage,
} from "@earshot/protocol";

export type CallState = "pending" | "live" | "ended";

export const CALL_TRANSITIONS: { readonly [S in CallState]: readonly CallState[] } = {
  pending: ["live"],
  live: ["ended"],
  ended: [],
};

export class CallStateError extends defineError("CallStateError", "invalid_state") {}

/**
 * What a call keeps for late subscribers, at most: messages, and their bytes as JSON (about two
 * hours of two-sided finals with word timestamps). Beyond, the oldest are forgotten, and a cursor
 * before them resumes at the oldest kept (cursors are consecutive: the subscriber sees the gap).
 */
export const MAX_KEPT_MESSAGES = 20_000;
export const MAX_KEPT_BYTES = 4 * 1024 * 1024;

/** A subscriber's socket, as the call sees it. */
export interface CallSink {
  /** The API key the subscriber connected with. */
  readonly key: string;
  send(message: CallEventMessage): void;
  /** The call ended and everything was sent: close normally. */
  end(): void;
  /** The subscriber may not read this call (it belongs to another key): close with `not_found`. */
  refuse(): void;
}

/** What `start` is told of the stream: everything `call_started` carries but the cursor. */
export type CallStart = Omit<CallStartedMessage, "type" | "cursor">;

export class Call {
  readonly sid: string;
  #state: CallState = "pending";
  /** The API key that may read it; undefined: any key (a call let in by Twilio's signature alone). */
  #owner: string | undefined;
  #streamSid = "";
  readonly #kept: { readonly message: KeptCallMessage; readonly bytes: number }[] = [];
  #keptBytes = 0;
  #cursor = 0;
  readonly #sinks = new Set<CallSink>();
  /** Each channel's last final `segment_id`, so a later stream of the same call continues the ids. */
  readonly #lastSegmentIds: [number, number] = [-1, -1];
  /** Told of each kept message (webhooks). */
  readonly #onKept: ((call: Call, message: KeptCallMessage) => void) | undefined;

  /**
   * `previous`: the same call's ended record, when a new stream starts for it (`<Stop>` then
   * `<Start>` again): cursors and segment ids continue from it, so a subscriber's cursor stays valid.
   */
  constructor(sid: string, onKept?: (call: Call, message: KeptCallMessage) => void, previous?: Call) {
    this.sid = sid;
    this.#onKept = onKept;
    if (previous) {
      this.#cursor = previous.#cursor;
      this.#lastSegmentIds[0] = previous.#lastSegmentIds[0];
      this.#lastSegmentIds[1] = previous.#lastSegmentIds[1];
    }
  }

  get state(): CallState {
    return this.#state;
  }

  get subscribers(): number {
    return this.#sinks.size;
  }

  /** Bytes (as JSON) of the messages kept for late subscribers. */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /** Whether `key`'s subscribers may read the call. */
  readableBy(key: string): boolean {
    return this.#owner === undefined || this.#owner === key;
  }

  /** The first segment id of a channel's next engine stream. */
  firstSegmentId(channel: CallChannel): number {
    return this.#lastSegmentIds[channel] + 1;
  }

  /** Sends the kept messages after `cursor`, then the live ones until the call ends. */
  subscribe(sink: CallSink, cursor: number): void {
    for (const { message } of this.#kept) if (message.cursor > cursor) sink.send(message);
    if (this.#state === "ended") sink.end();
    else this.#sinks.add(sink);
  }

  unsubscribe(sink: CallSink): void {
    this.#sinks.delete(sink);
  }

  /** A media stream starts feeding the call (`owner`: the key that may read it, or any). */
  start(start: CallStart, owner: string | undefined): void {
    this.#transition("live");
    this.#owner = owner;
    this.#streamSid = start.stream_sid;
    for (const sink of [...this.#sinks]) {
      if (!this.readableBy(sink.key)) {
        this.#sinks.delete(sink);
        sink.refuse();
      }
    }
    this.#keep({ type: "call_started", cursor: 0, ...start });
  }

  transcript(channel: CallChannel, speaker: CallSpeaker, message: TranscriptMessage): void {
    if (this.#state !== "live") return;
    if (!message.is_final) {
      this.#broadcast({ ...message, channel, speaker });
      return;
    }
    this.#lastSegmentIds[channel] = Math.max(this.#lastSegmentIds[channel], message.segment_id);
    this.#keep({ ...message, channel, speaker, cursor: 0 });
  }

  utteranceEnd(channel: CallChannel, speaker: CallSpeaker, message: UtteranceEndMessage): void {
    if (this.#state === "live") this.#broadcast({ ...message, channel, speaker });
  }

  /** The stream ended; every final was sent before this. Subscribers get `call_ended`, then close. */
  end(reason: CallEndReason, audioMs: number): void {
    this.#keep({
      type: "call_ended",
      cursor: 0,
      call_sid: this.sid,
      stream_sid: this.#streamSid,
      reason,
      audio_ms: audioMs,
    });
    this.#transition("ended");
    for (const sink of this.#sinks) sink.end();
    this.#sinks.clear();
  }

  #keep(message: KeptCallMessage): void {
    this.#cursor += 1;
    message.cursor = this.#cursor;
    const bytes = Buffer.byteLength(JSON.stringify(message));
    this.#kept.push({ message, bytes });
    this.#keptBytes += bytes;
    while (this.#kept.length > 1 && (this.#kept.length > MAX_KEPT_MESSAGES || this.#keptBytes > MAX_KEPT_BYTES)) {
      this.#keptBytes -= this.#kept.shift()?.bytes ?? 0;
    }
    this.#broadcast(message);
    this.#onKept?.(this, message);
  }

  #broadcast(message: CallEventMessage): void {
    for (const sink of this.#sinks) sink.send(message);
  }

  #transition(to: CallState): void {
    if (!CALL_TRANSITIONS[this.#state].includes(to)) {
      throw new CallStateError(`Illegal call transition ${this.#state} → ${to}.`);
    }
    this.#state = to;
  }
}
