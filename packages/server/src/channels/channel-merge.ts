/**
 * What the two channels' sessions of a `TwoChannelSession` would tell a client, told once, as one
 * stream: each channel's session has one of these `connections` for life, and this object turns
 * their messages into the client's. Transcripts, utterance_end and checkpoints get the `channel`;
 * `session_started` goes out once both channels' engine streams opened; an ack acks what *both*
 * channels have (the lower position); `stream_closed` goes out once both channels drained, and
 * close 1000 after it; the first error is the stream's, and ends it. While a resume attaches the
 * channels, what they say is held, so that the one `session_resumed` goes first (`hold`/`resumed`).
 */
import { CloseCode, type ErrorCode, type ServerMessage, type SessionStartedMessage } from "@earshot/protocol";
import type { SessionConnection } from "../session-types.js";
import { TWO_CHANNELS } from "./interleaved-audio.js";

/** An ack whose position did not move still goes out this often: the client's heartbeat. */
const ACK_HEARTBEAT_MS = 1000;

export interface MergeHost {
  readonly id: string;
  readonly resumeToken: string;
  /** The client's connection now, if any. */
  connection(): SessionConnection | undefined;
}

type Channel = 0 | 1;

export class ChannelMerge {
  /** Each channel's session's connection. */
  readonly connections: readonly [SessionConnection, SessionConnection];
  readonly #host: MergeHost;
  readonly #started: (SessionStartedMessage | undefined)[] = [undefined, undefined];
  /** Each channel's last ack on this connection (none yet: undefined), and what went to the client. */
  #acked: (number | undefined)[] = [undefined, undefined];
  #ackSent = -1;
  #ackSentAt = 0;
  /** Per connection: each channel's stream_closed, and whether it then asked to close (1000). */
  #closing: { audioMs: (number | undefined)[]; closed: boolean[] } = newClosing();
  readonly #paused = [false, false];
  /** The stream ended with an error: it was told, once. */
  #failed = false;
  /** What the channels said while a resume attached them, in order. */
  #held: (() => void)[] | undefined;

  constructor(host: MergeHost) {
    this.#host = host;
    this.connections = [this.#channelConnection(0), this.#channelConnection(1)];
  }

  /** A resume attaches the channels: hold what they say until `resumed`. */
  hold(): void {
    this.#held = [];
    this.#closing = newClosing();
    this.#acked = [undefined, undefined];
    this.#ackSent = -1;
  }

  /** The channels are attached: `session_resumed` at `receivedSamples`, then what they said meanwhile. */
  resumed(receivedSamples: number): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#send({ type: "session_resumed", session_id: this.#host.id, received_samples: receivedSamples });
    for (const said of held) said();
  }

  #channelConnection(channel: Channel): SessionConnection {
    return {
      send: (message) => this.#run(() => this.#fromChannel(channel, message)),
      redeliver: (final) => this.#run(() => this.#host.connection()?.redeliver({ ...final, channel })),
      error: (code, message) => this.#run(() => this.#error(code, message)),
      close: (code, reason) => this.#run(() => this.#close(channel, code, reason)),
      pause: (paused) => {
        this.#paused[channel] = paused;
        this.#host.connection()?.pause(this.#paused.some(Boolean));
      },
    };
  }

  #run(said: () => void): void {
    if (this.#held) this.#held.push(said);
    else said();
  }

  #fromChannel(channel: Channel, message: ServerMessage): void {
    switch (message.type) {
      case "transcript":
      case "utterance_end":
      case "checkpoint":
        this.#send({ ...message, channel });
        return;
      case "session_started":
        this.#sessionStarted(channel, message);
        return;
      case "session_resumed":
        return; // `resumed` says it once, for both
      case "ack":
        this.#ack(channel, message.received_samples);
        return;
      case "stream_closed":
        this.#closing.audioMs[channel] = message.audio_ms;
        if (this.#closing.audioMs.every((ms) => ms !== undefined)) {
          this.#send({ type: "stream_closed", audio_ms: Math.max(...this.#closing.audioMs.map((ms) => ms ?? 0)) });
        }
        return;
      case "warning":
      case "error":
        this.#send(message);
        return;
    }
  }

  #sessionStarted(channel: Channel, message: SessionStartedMessage): void {
    this.#started[channel] = message;
    const [left, right] = this.#started;
    if (left === undefined || right === undefined) return;
    const starts = [left.config.start_sample, right.config.start_sample];
    const firstIds = [left.config.first_segment_id, right.config.first_segment_id];
    this.#send({
      ...message,
      session_id: this.#host.id,
      resume_token: this.#host.resumeToken,
      config: {
        ...message.config,
        // Where the client's audio starts: the earlier channel's start.
        start_sample: Math.min(...starts),
        first_segment_id: Math.min(...firstIds),
        channels: TWO_CHANNELS,
        start_samples: starts,
        first_segment_ids: firstIds,
      },
    });
  }

  #ack(channel: Channel, receivedSamples: number): void {
    this.#acked[channel] = receivedSamples;
    // Until both channels acked, the lower position is unknown.
    if (this.#acked.some((acked) => acked === undefined)) return;
    const both = Math.min(...this.#acked.map((acked) => acked ?? 0));
    const now = Date.now();
    if (both <= this.#ackSent && now - this.#ackSentAt < ACK_HEARTBEAT_MS) return;
    this.#ackSent = both;
    this.#ackSentAt = now;
    this.#send({ type: "ack", received_samples: both });
  }

  #error(code: ErrorCode, message: string | undefined): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#host.connection()?.error(code, message);
  }

  /** A channel's session closes its connection: 1000 after stream_closed waits for the other; anything else ends the stream. */
  #close(channel: Channel, code: number, reason: string): void {
    if (code !== CloseCode.normal) {
      this.#host.connection()?.close(code, reason);
      return;
    }
    this.#closing.closed[channel] = true;
    if (this.#closing.closed.every(Boolean)) this.#host.connection()?.close(code, reason);
  }

  #send(message: ServerMessage): void {
    this.#host.connection()?.send(message);
  }
}

function newClosing(): { audioMs: (number | undefined)[]; closed: boolean[] } {
  return { audioMs: [undefined, undefined], closed: [false, false] };
}
