/**
 * The way back after a dropped connection: attempts paced by the Backoff, each resuming the server
 * session with its resume token from the last final delivered. Should the server have lost the
 * session, the same connection starts a new one where the last final ended (within the audio
 * sent), so no final is repeated and no audio after it is skipped.
 */
import type { SessionStartedMessage } from "@earshot/protocol";
import type { Handshake } from "./connection.js";
import type { SessionStart } from "./options.js";
import { Backoff, type BackoffOptions } from "./reconnect.js";
import type { StreamProgress } from "./stream-progress.js";

export interface ReconnectLoopOptions {
  /** Off (`false`), on with the defaults (`true`), or on with these. */
  readonly reconnect: boolean | BackoffOptions;
  readonly progress: StreamProgress;
  /** The end of the audio sent so far. */
  readonly endSample: () => number;
  /** The `config` message that starts a session at `start`. */
  readonly config: (start: SessionStart) => string;
}

export interface Attempt {
  /** 1 for the first after a drop. */
  readonly attempt: number;
  readonly delayMs: number;
}

export class ReconnectLoop {
  readonly #options: ReconnectLoopOptions;
  readonly #backoff: Backoff | undefined;
  #resumeToken: string | undefined;
  /** The start of the session being opened (a new session after a lost one starts mid-stream). */
  #sessionStart: SessionStart = { startSample: 0, firstSegmentId: 0 };
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ReconnectLoopOptions) {
    this.#options = options;
    const { reconnect } = options;
    this.#backoff = reconnect === false ? undefined : new Backoff(reconnect === true ? {} : reconnect);
  }

  /** A dropped connection can come back: reconnecting is on and the server gave a resume token. */
  get resumable(): boolean {
    return this.#backoff !== undefined && this.#resumeToken !== undefined;
  }

  /** Attempts made since the last reset. */
  get attempt(): number {
    return this.#backoff?.attempt ?? 0;
  }

  /** The handshake of the first connection. */
  firstHandshake(): Handshake {
    return { kind: "start", config: () => this.#options.config(this.#sessionStart) };
  }

  /** A session started: keeps its resume token; returns where it starts in the stream. */
  started(session: SessionStartedMessage): number {
    this.#resumeToken = session.resume_token;
    return session.config.start_sample ?? this.#sessionStart.startSample;
  }

  /** A connection is up (session started or resumed). */
  connected(): void {
    this.#backoff?.connected();
  }

  /** An established connection dropped. */
  disconnected(): void {
    this.#backoff?.disconnected();
  }

  /** Counts the next attempt: its number and wait, or undefined when the loop gives up. */
  next(): Attempt | undefined {
    const next = this.#backoff?.next();
    return next === undefined || this.#resumeToken === undefined ? undefined : next;
  }

  /** After `delayMs`, gives `open` the handshake that resumes the session (or starts its successor). */
  resumeAfter(delayMs: number, open: (handshake: Handshake) => void): void {
    const token = this.#resumeToken;
    if (token === undefined) return;
    const { progress, endSample, config } = this.#options;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      open({
        kind: "resume",
        token,
        lastSegmentIds: progress.lastFinalIds,
        lastFinalEndSample: progress.finalEndSample,
        config: () => {
          this.#sessionStart = progress.newSession(endSample());
          return config(this.#sessionStart);
        },
      });
    }, delayMs);
  }

  cancel(): void {
    clearTimeout(this.#timer);
  }
}
