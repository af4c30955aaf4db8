/**
 * A session's link to one engine stream, from its opening to its close: the wire decoder turns the
 * client's messages into PCM, held until the stream opens; the stream's events are pumped to its
 * `TranscriptRelay`; at the end it drains (the last finals relayed) or is closed. A session that releases its decoder closes its link and
 * later opens a new one; a link closed while its stream was still opening closes that stream as
 * soon as it arrives, so a late stream never stands in for a newer one.
 */
import type { Engine, EngineEvent, EngineStream } from "@earshot/engines";
import type { Logger } from "pino";
import { PendingAudio } from "./pending-audio.js";
import type { ResolvedConfig } from "./stream-config.js";
import type { TranscriptRelay } from "./transcript-relay.js";
import { createWireDecoder, type WireDecoder } from "./wire-decoder.js";

export interface EngineLinkEvents {
  /** The stream opened and got the audio held for it (not called once the link is closed). */
  opened(stream: EngineStream): void;
  /** The stream could not be opened (not called once the link is closed). */
  openFailed(error: unknown): void;
  /** A bug in the link's own work; the session ends with internal_error. */
  internalError(what: string, error: unknown): void;
}

export class EngineLink {
  readonly relay: TranscriptRelay;
  /** Lives as long as the stream: a stream opened again after a release starts a fresh decoder. */
  readonly decoder: WireDecoder;
  readonly #events: EngineLinkEvents;
  readonly #log: Logger;
  /** Audio received while the stream opens. */
  readonly #pending: PendingAudio;
  #stream: EngineStream | undefined;
  #closed = false;
  #pumpDone: Promise<void> = Promise.resolve();
  /** A `flush` came while the stream opened (a client's `finalize` right after its first audio). */
  #flushWhenOpen = false;

  /** Starts opening a stream at `startSample`; `maxPendingMs`: audio held meanwhile at most. */
  constructor(
    engine: Engine,
    config: ResolvedConfig,
    startSample: number,
    relay: TranscriptRelay,
    maxPendingMs: number,
    log: Logger,
    events: EngineLinkEvents,
  ) {
    this.relay = relay;
    this.#events = events;
    this.#log = log;
    this.#pending = new PendingAudio(maxPendingMs);
    this.decoder = createWireDecoder(config.encoding, {
      overlapMs: config.overlapMs,
      bandExtensionDb: config.bandExtensionDb,
      startSample,
    });
    // An engine that throws instead of rejecting fails the open the same way.
    new Promise<EngineStream>((resolve) => resolve(engine.openStream({ ...config.engine, startSample })))
      .then(
        (stream) => this.#opened(stream),
        (error: unknown) => {
          if (this.#closed) return;
          this.#log.warn({ err: error }, "engine stream failed to open");
          events.openFailed(error);
        },
      )
      .catch((error: unknown) => events.internalError("opening the engine stream", error));
  }

  /** The stream, once open (undefined while opening and after the link is closed). */
  get stream(): EngineStream | undefined {
    return this.#stream;
  }

  /** How far the engine is behind on this stream, in ms of audio. */
  get backlogMs(): number {
    return this.#stream?.backlogMs ?? 0;
  }

  /** To the stream, or held while it opens; false when more is held than `maxPendingMs`. */
  push(pcm: Int16Array): boolean {
    if (this.#stream) {
      this.#stream.push(pcm);
      return true;
    }
    return this.#pending.hold(pcm);
  }

  /** Finalizes what the engine holds; asked while the stream opens, once the audio held is in. */
  flush(): void {
    if (this.#stream) this.#stream.flush();
    else if (!this.#closed) this.#flushWhenOpen = true;
  }

  /** Ends the stream; resolves once its last event was relayed. */
  async drain(): Promise<void> {
    const stream = this.#stream;
    if (!stream) return;
    // What the decoder still holds (the G.711 resampler's look-ahead) is the end of the audio.
    const tail = this.decoder.flush();
    if (tail.length > 0) stream.push(tail);
    try {
      await stream.end();
    } catch (error) {
      this.#log.warn({ err: error }, "engine stream failed to end");
    }
    // end() ends the event iteration, so the pump finishes once it has relayed the last final.
    await this.#pumpDone;
  }

  /** Gives the stream back (or, while it opens, as soon as it arrives); it relays nothing more. */
  /**
   * Give the engine's decoder back while the session waits for a resume, keeping the stream (see
   * `EngineStream.suspend`); false when the engine cannot.
   */
  suspend(): boolean {
    const stream = this.#stream;
    if (!stream?.suspend) return false;
    stream.suspend();
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.clear();
    const stream = this.#stream;
    this.#stream = undefined;
    try {
      stream?.close();
    } finally {
      this.decoder.close();
    }
  }

  #opened(stream: EngineStream): void {
    if (this.#closed) {
      stream.close();
      return;
    }
    this.#stream = stream;
    this.#pumpDone = this.#pump(stream);
    this.#pending.drainInto(stream);
    if (this.#flushWhenOpen) {
      this.#flushWhenOpen = false;
      stream.flush();
    }
    this.#events.opened(stream);
  }

  /**
   * Relays the engine's events until its stream ends. Never rejects: nothing awaits it but `drain`,
   * so a rejection would be unhandled and end the process.
   */
  async #pump(stream: EngineStream): Promise<void> {
    try {
      for await (const event of stream) {
        // A closed link (a released stream) says nothing more, even if it had events queued.
        if (this.#closed || !this.#relay(event)) return;
      }
    } catch (error) {
      if (!this.#closed)
        this.#relay({ type: "error", error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  /** False when relaying the event threw: a bug, which ends the session with internal_error. */
  #relay(event: EngineEvent): boolean {
    try {
      this.relay.relay(event);
      return true;
    } catch (error) {
      this.#events.internalError(`relaying an engine ${event.type} event`, error);
      return false;
    }
  }
}
