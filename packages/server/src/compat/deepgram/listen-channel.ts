/**
 * One channel of a Deepgram stream: its own stream session, exactly as a client's stream
 * (`StreamSession`: the wire decoder, the engine stream behind the VAD gate, segments, numerals and
 * redaction, admission, metrics, shutdown), with this object as its connection (the pattern of a
 * Twilio call's `CallChannel`). What the session would send a client goes to the stream instead,
 * which answers in Deepgram's messages.
 */
import { ERRORS, type ErrorCode, type ServerMessage, type TranscriptMessage } from "@earshot/protocol";
import type { StreamSession } from "../../session.js";
import type { SessionConnection } from "../../session-types.js";

export interface ListenChannelHost {
  transcript(channel: ListenChannel, message: TranscriptMessage): void;
  utteranceEnd(channel: ListenChannel, lastWordEndMs: number): void;
  /** The session ended with an error (engine failure, session too long, shutdown). */
  failed(channel: ListenChannel, code: ErrorCode, message: string): void;
  /** Stop reading the socket while this channel's engine is behind, or start again. */
  pause(channel: ListenChannel, paused: boolean): void;
  warn(channel: ListenChannel, code: string, message: string): void;
}

export class ListenChannel implements SessionConnection {
  readonly index: number;
  readonly #host: ListenChannelHost;
  #session: StreamSession | undefined;
  #closed = false;
  /** Audio the session received, in ms, as its `stream_closed` says. */
  #audioMs = 0;
  /** Where the audio stood at the last `Finalize`, in ms of the stream; undefined: none pending. */
  #finalizedAtMs: number | undefined;
  /** The segment whose first words were heard (for `SpeechStarted`, once per segment). */
  #startedSegment = -1;
  readonly #ended: Promise<void>;
  #resolveEnded: () => void = () => {};

  constructor(index: number, host: ListenChannelHost) {
    this.index = index;
    this.#host = host;
    this.#ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  get audioMs(): number {
    return this.#audioMs;
  }

  /** Resolves once the session is over (its last finals sent, or it failed). */
  get ended(): Promise<void> {
    return this.#ended;
  }

  /** Binds the session opened for this channel. */
  bind(session: StreamSession): void {
    this.#session = session;
  }

  /** Audio in the session's encoding; returns why it is not audio, or undefined. */
  audio(bytes: Uint8Array): string | undefined {
    if (this.#closed || bytes.byteLength === 0) return undefined;
    return this.#session?.audio(bytes, false);
  }

  /** `Finalize` with the audio received so far ending at `atMs` (Infinity: not known). */
  finalize(atMs: number): void {
    if (this.#closed) return;
    this.#finalizedAtMs = atMs;
    this.#session?.finalize();
  }

  /** `CloseStream`: the session's last finals, then it ends (`ended`). */
  finish(): void {
    if (this.#closed || !this.#session) {
      this.#close();
      return;
    }
    this.#session.finish();
  }

  /** The socket went away: the session ends now (a Deepgram stream is never resumed). */
  drop(): void {
    const session = this.#session;
    this.#close();
    session?.detach(this, true);
  }

  /**
   * Whether the final ending at `endMs` is the one `Finalize` forced: the first final after it, of
   * audio sent before it. A `Finalize` with no words pending forces none, so a later final of later
   * audio is not taken for it.
   */
  takeFinalize(endMs: number): boolean {
    const at = this.#finalizedAtMs;
    this.#finalizedAtMs = undefined;
    // `at` counts the audio as sent, `endMs` as the session decoded it (rounded to the ms).
    return at !== undefined && endMs <= at + 1;
  }

  /** Whether this segment's words are the first heard of it (and the next ones are not). */
  startsSegment(segmentId: number): boolean {
    if (segmentId === this.#startedSegment) return false;
    this.#startedSegment = segmentId;
    return true;
  }

  // SessionConnection: what the session would send a client.

  send(message: ServerMessage): void {
    if (this.#closed) return;
    switch (message.type) {
      case "transcript":
        this.#host.transcript(this, message);
        return;
      case "utterance_end":
        this.#host.utteranceEnd(this, message.last_word_end_ms);
        return;
      case "stream_closed":
        this.#audioMs = message.audio_ms;
        return;
      case "warning":
        this.#host.warn(this, message.code, message.message);
        return;
      default:
        // session_started, ack, checkpoint: earshot's protocol, not Deepgram's.
        return;
    }
  }

  redeliver(): void {
    // A channel's session is never resumed: it keeps this connection for life.
  }

  error(code: ErrorCode, message: string = ERRORS[code].summary): void {
    if (this.#closed) return;
    this.#host.failed(this, code, message);
  }

  close(): void {
    this.#close();
  }

  pause(paused: boolean): void {
    if (!this.#closed) this.#host.pause(this, paused);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.pause(this, false);
    this.#resolveEnded();
  }
}
