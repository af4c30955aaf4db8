/**
 * One channel of a call (a Twilio track): its own stream session, exactly as a client's stream
 * (`StreamSession`: the wire decoder for μ-law, the engine stream behind the VAD gate, segment ids,
 * forced finals, admission, metrics, shutdown), with this object as its connection. What the
 * session would send a client goes to the call instead, tagged with the channel.
 *
 * The call has one clock: Twilio's `media.timestamp`, milliseconds from the start of the stream.
 * A channel's session starts at its first frame's timestamp (`start_sample`), so its times are
 * stream-absolute; a frame whose timestamp runs ahead of the audio received (Twilio dropped some,
 * or a track fell silent without frames) gets the gap filled with silence first, up to
 * `MAX_GAP_FILL_MS`, so both channels stay on the same clock.
 */
import {
  CALL_CHANNELS,
  type CallSpeaker,
  type CallTrack,
  type CallChannel as ChannelNumber,
  ERRORS,
  type ErrorCode,
  SAMPLES_PER_MS,
  type ServerMessage,
  type TranscriptMessage,
  type UtteranceEndMessage,
} from "@earshot/protocol";
import type { Logger } from "pino";
import type { StreamSession } from "../session.js";
import type { SessionConnection } from "../session-types.js";

/** μ-law bytes per ms at 8 kHz. */
const BYTES_PER_MS = 8;
/** μ-law's code for silence (a zero sample). */
const MULAW_SILENCE = 0xff;
/** Timestamps this far ahead of the audio received are rounding, not a gap (a frame is 20 ms). */
const GAP_TOLERANCE_MS = 10;
/** The most silence one gap is filled with; a longer jump shifts the channel's later times. */
export const MAX_GAP_FILL_MS = 10_000;
/** How long the engine may take to give a channel's last finals when the call ends. */
const FINISH_TIMEOUT_MS = 10_000;

export interface ChannelHost {
  readonly log: Logger;
  /** Opens the channel's session (config included); undefined when refused (over capacity). */
  openSession(connection: SessionConnection, startSample: number, firstSegmentId: number): StreamSession | undefined;
  transcript(channel: ChannelNumber, speaker: CallSpeaker, message: TranscriptMessage): void;
  utteranceEnd(channel: ChannelNumber, speaker: CallSpeaker, message: UtteranceEndMessage): void;
  /** Stop reading the Twilio socket while this channel's engine is behind, or start again. */
  pause(channel: ChannelNumber, paused: boolean): void;
  /** The session ended on its own (an error: engine failure, session too long, shutdown). */
  failed(channel: ChannelNumber, code: ErrorCode): void;
  /** A timestamp ran more than `MAX_GAP_FILL_MS` ahead. */
  gapTooLong(channel: ChannelNumber, gapMs: number): void;
}

export class CallChannel implements SessionConnection {
  readonly track: CallTrack;
  readonly channel: ChannelNumber;
  readonly speaker: CallSpeaker;
  readonly #host: ChannelHost;
  readonly #firstSegmentId: number;
  #session: StreamSession | undefined;
  /** The session could not be opened: the channel's audio is dropped. */
  #refused = false;
  #startMs = 0;
  /** μ-law bytes given to the session (silence fills included). */
  #bytes = 0;
  /** Stream time skipped by gaps longer than `MAX_GAP_FILL_MS`, beyond what was filled. */
  #skippedMs = 0;
  #closed = false;
  /** Why the session ended on its own, if it did. */
  #failure: ErrorCode | undefined;
  readonly #ended: Promise<void>;
  #resolveEnded: () => void = () => {};

  constructor(track: CallTrack, firstSegmentId: number, host: ChannelHost) {
    this.track = track;
    this.channel = CALL_CHANNELS[track].channel;
    this.speaker = CALL_CHANNELS[track].speaker;
    this.#firstSegmentId = firstSegmentId;
    this.#host = host;
    this.#ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  /** Stream time (Twilio's clock) where the channel's audio received so far ends. */
  get endMs(): number {
    return this.#positionMs + this.#skippedMs;
  }

  /** Where the channel's audio ends in its session: stream time, less what long gaps skipped. */
  get #positionMs(): number {
    return this.#startMs + this.#bytes / BYTES_PER_MS;
  }

  /** One frame of μ-law audio at `timestampMs` of the stream. */
  push(audio: Uint8Array, timestampMs: number): void {
    if (this.#closed || this.#refused || audio.byteLength === 0) return;
    const session = this.#session ?? this.#open(timestampMs);
    if (!session) return;
    const gapMs = timestampMs - this.endMs;
    if (gapMs > GAP_TOLERANCE_MS) {
      if (gapMs > MAX_GAP_FILL_MS) {
        this.#host.gapTooLong(this.channel, gapMs);
        // Not filled: the channel's times run early by this much from now on.
        this.#skippedMs += gapMs - MAX_GAP_FILL_MS;
      }
      const fill = new Uint8Array(Math.round(Math.min(gapMs, MAX_GAP_FILL_MS) * BYTES_PER_MS)).fill(MULAW_SILENCE);
      this.#feed(session, fill);
    }
    this.#feed(session, audio);
  }

  /**
   * The call's stream ended: the session sends its last finals (close_stream), bounded by
   * `FINISH_TIMEOUT_MS`. Resolves once the channel is closed. Idempotent.
   */
  async end(): Promise<void> {
    const session = this.#session;
    if (!session || this.#closed) {
      this.#close();
      return this.#ended;
    }
    session.finish();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), FINISH_TIMEOUT_MS);
      timer.unref();
    });
    const result = await Promise.race([this.#ended, timeout]);
    clearTimeout(timer);
    if (result === "timeout") {
      this.#host.log.warn({ channel: this.channel }, "the engine did not finish the channel in time; ending it");
      await session.shutdown(0);
      this.#close();
    }
  }

  // SessionConnection: what the session would send a client.

  send(message: ServerMessage): void {
    if (this.#closed) return;
    switch (message.type) {
      case "transcript":
        this.#host.transcript(this.channel, this.speaker, message);
        return;
      case "utterance_end":
        this.#host.utteranceEnd(this.channel, this.speaker, message);
        return;
      case "warning":
        this.#host.log.warn({ channel: this.channel, code: message.code }, message.message);
        return;
      default:
        // session_started, ack, checkpoint, stream_closed: a client's business, not a call's.
        return;
    }
  }

  redeliver(): void {
    // A channel's session is never resumed: it keeps this connection for life.
  }

  error(code: ErrorCode, message: string = ERRORS[code].summary): void {
    if (this.#closed) return;
    this.#failure = code;
    this.#host.log.warn({ channel: this.channel, code }, `channel stream ended: ${message}`);
    // As a client's connection would: an error with a close code ends it.
    if ("close" in ERRORS[code]) this.close();
  }

  close(): void {
    const failure = this.#failure;
    const wasOpen = !this.#closed;
    this.#close();
    if (wasOpen && failure !== undefined) this.#host.failed(this.channel, failure);
  }

  pause(paused: boolean): void {
    if (!this.#closed) this.#host.pause(this.channel, paused);
  }

  #open(timestampMs: number): StreamSession | undefined {
    this.#startMs = timestampMs;
    this.#session = this.#host.openSession(this, timestampMs * SAMPLES_PER_MS, this.#firstSegmentId);
    if (!this.#session) this.#refused = true;
    return this.#session;
  }

  #feed(session: StreamSession, audio: Uint8Array): void {
    this.#bytes += audio.byteLength;
    session.audio(audio, false);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.pause(this.channel, false);
    this.#resolveEnded();
  }
}
