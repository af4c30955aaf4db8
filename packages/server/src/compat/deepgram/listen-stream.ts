/**
 * One Deepgram live stream (one WebSocket on `/v1/listen`). Binary frames are audio, split or mixed
 * into the channels' sessions (`ListenAudio`, `ListenChannel`); text frames are `KeepAlive`,
 * `Finalize` and `CloseStream` (`readListenMessage`). What the sessions say goes out as `Results`, `SpeechStarted` and
 * `UtteranceEnd`; `CloseStream` (or, as Deepgram took it, an empty binary frame) sends the last
 * finals, then `Metadata`, then closes with 1000.
 *
 * A stream that cannot go on is closed as Deepgram closes it (`DEEPGRAM_CLOSE_ERRORS`): audio a
 * session cannot decode or a text frame that is not JSON with 1008 `DATA-0000`, no frame for
 * `idleTimeoutMs` with 1011 `NET-0001`, a failed session with 1011 `NET-0000`.
 */
import { createHash, type Hash } from "node:crypto";
import { defineError, type ErrorCode, type TranscriptMessage } from "@earshot/protocol";
import type { Logger } from "pino";
import { type RawData, WebSocket } from "ws";
import type { StreamSession } from "../../session.js";
import { ListenAudio } from "./listen-audio.js";
import { ListenChannel, type ListenChannelHost } from "./listen-channel.js";
import { readListenMessage } from "./listen-client-message.js";
import { DEEPGRAM_CLOSE_ERRORS, type DeepgramCloseErrorCode } from "./listen-errors.js";
import { type ListenIdentity, metadata, results, speechStarted, utteranceEnd } from "./listen-messages.js";
import type { ListenQuery } from "./listen-query.js";

/** Deepgram closes a stream that sent no audio and no KeepAlive for 10 s (NET-0001). */
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
/** How long the engine may take to give the last finals after `CloseStream`. */
const FINISH_TIMEOUT_MS = 10_000;

/** How a stream ended: `ok` after `CloseStream`, `client_closed` when the socket closed first. */
export type ListenResult = "ok" | "client_closed" | DeepgramCloseErrorCode;

/** Sessions opened before the upgrade (`connecting`), streaming, sending its last finals, over. */
export type ListenStreamState = "connecting" | "open" | "closing" | "closed";

const TRANSITIONS: { readonly [S in ListenStreamState]: readonly ListenStreamState[] } = {
  connecting: ["open", "closed"],
  open: ["closing", "closed"],
  closing: ["closed"],
  closed: [],
};

export class ListenStreamStateError extends defineError("ListenStreamStateError", "invalid_state") {}

export interface ListenStreamContext {
  readonly log: Logger;
  readonly query: ListenQuery;
  readonly identity: ListenIdentity;
  /** The band extension for linear16 at 8 kHz (the server's default for 8 kHz audio); undefined: off. */
  readonly bandExtensionDb: number | undefined;
  readonly idleTimeoutMs: number;
  /** Messages the client may leave unread (bytes) before it is closed as a slow consumer. */
  readonly maxOutboundBytes: number;
  /** Once, when the stream is over. */
  ended(result: ListenResult, audioMs: number): void;
}

export class DeepgramListenStream implements ListenChannelHost {
  readonly #context: ListenStreamContext;
  readonly #log: Logger;
  readonly #audio: ListenAudio;
  readonly #channels: ListenChannel[];
  readonly #paused = new Set<ListenChannel>();
  readonly #sha256: Hash = createHash("sha256");
  readonly #createdAt = new Date();
  #ws: WebSocket | undefined;
  #state: ListenStreamState = "connecting";
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(context: ListenStreamContext) {
    this.#context = context;
    this.#log = context.log.child({ request_id: context.identity.requestId });
    const { query } = context;
    this.#audio = new ListenAudio({ ...query, bandExtensionDb: context.bandExtensionDb });
    this.#channels = Array.from({ length: this.#audio.outputs }, (_, index) => new ListenChannel(index, this));
  }

  /** Its channels, each a session with a decoder of its own (multichannel: one per channel, else one). */
  get channelCount(): number {
    return this.#channels.length;
  }

  /** The session encoding each channel's config needs. */
  get sessionEncoding(): ListenAudio["sessionEncoding"] {
    return this.#audio.sessionEncoding;
  }

  /**
   * Opens every channel's session (before the upgrade, so a refusal is still an HTTP answer);
   * false, with those opened ended again, when one is refused.
   */
  openSessions(open: (channel: ListenChannel) => StreamSession | undefined): boolean {
    for (const channel of this.#channels) {
      const session = open(channel);
      if (!session) {
        this.abort();
        return false;
      }
      channel.bind(session);
    }
    return true;
  }

  /** The handshake failed after the sessions were opened: they end, nothing is counted. */
  abort(): void {
    if (this.#state !== "connecting") return;
    this.#transition("closed");
    for (const channel of this.#channels) channel.drop();
  }

  /** The upgrade is done: the stream runs on this socket. */
  attach(ws: WebSocket): void {
    if (this.#state !== "connecting") {
      ws.terminate();
      return;
    }
    this.#ws = ws;
    this.#transition("open");
    ws.on("message", (data, isBinary) => this.#guarded("a message", () => this.#onMessage(data, isBinary)));
    ws.on("close", () => this.#guarded("the close", () => this.#end("client_closed")));
    ws.on("error", (error) => this.#log.debug({ err: error }, "deepgram socket error"));
    this.#idleTimer = setTimeout(
      () => this.#guarded("the idle timeout", () => this.#idle()),
      this.#context.idleTimeoutMs,
    );
    this.#idleTimer.unref();
  }

  // ListenChannelHost: what the channels' sessions say.

  transcript(channel: ListenChannel, message: TranscriptMessage): void {
    const { query, identity } = this.#context;
    const index = this.#channelIndex(channel);
    if (query.vadEvents && channel.startsSegment(message.segment_id)) {
      this.#send(speechStarted(message.start_ms, index));
    }
    if (!message.is_final && !query.interimResults) return;
    const fromFinalize = message.is_final && channel.takeFinalize(message.end_ms);
    this.#send(results(message, { ...identity, channel: index, endpointing: query.endpointing, fromFinalize }));
  }

  utteranceEnd(channel: ListenChannel, lastWordEndMs: number): void {
    if (!this.#context.query.utteranceEnd) return;
    this.#send(utteranceEnd(lastWordEndMs, this.#channelIndex(channel)));
  }

  failed(channel: ListenChannel, code: ErrorCode, message: string): void {
    this.#log.warn({ channel: channel.index, code }, `deepgram channel stream ended: ${message}`);
    // A node that drains ends its streams as a shutdown does: Deepgram clients reconnect on 1012.
    const restart = code === "server_shutting_down" || code === "draining";
    this.#fail(restart ? "server_shutting_down" : "stream_failed");
  }

  pause(channel: ListenChannel, paused: boolean): void {
    const wasPaused = this.#paused.size > 0;
    if (paused) this.#paused.add(channel);
    else this.#paused.delete(channel);
    const isPaused = this.#paused.size > 0;
    if (wasPaused === isPaused || this.#state === "closed") return;
    if (isPaused) this.#ws?.pause();
    else this.#ws?.resume();
  }

  warn(channel: ListenChannel, code: string, message: string): void {
    this.#log.warn({ channel: channel.index, code }, message);
  }

  #channelIndex(channel: ListenChannel): [number, number] {
    return [channel.index, this.#channels.length];
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state !== "open") return;
    // Any frame from the client, KeepAlive included, restarts the idle timeout.
    this.#idleTimer?.refresh();
    const message = readListenMessage(data, isBinary);
    switch (message.kind) {
      case "audio":
        this.#onAudio(message.bytes);
        return;
      case "keep_alive":
        return;
      case "finalize":
        this.#finalize(message.channel);
        return;
      case "close_stream":
        this.#closeStream();
        return;
      case "ignored":
        this.#log.debug({ type: message.type }, "deepgram message ignored");
        return;
      case "invalid":
        this.#fail("invalid_message");
        return;
    }
  }

  #onAudio(bytes: Buffer): void {
    this.#sha256.update(bytes);
    const parts = this.#audio.push(bytes);
    for (const [index, channel] of this.#channels.entries()) {
      const invalid = channel.audio(parts[index] ?? new Uint8Array(0));
      if (invalid !== undefined) {
        this.#log.info({ channel: index, why: invalid }, "deepgram audio cannot be decoded");
        this.#fail("undecodable_audio");
        return;
      }
    }
  }

  /** No frame for the idle timeout: NET-0001, unless it is the server that stopped reading (backlog). */
  #idle(): void {
    if (this.#paused.size > 0) this.#idleTimer?.refresh();
    else this.#fail("idle_timeout");
  }

  /** `Finalize`: every channel's engine flushes (or the one named by `channel`). */
  #finalize(channel: number | undefined): void {
    const named = channel === undefined ? undefined : this.#channels[channel];
    // Opus packets are not measured here: any final may then be the forced one.
    const atMs = this.#audio.sessionEncoding === "opus" ? Number.POSITIVE_INFINITY : this.#audio.receivedMs;
    for (const each of named ? [named] : this.#channels) each.finalize(atMs);
  }

  /** `CloseStream`: the last finals, `Metadata`, close 1000. */
  #closeStream(): void {
    if (this.#state !== "open") return;
    this.#transition("closing");
    clearTimeout(this.#idleTimer);
    const tails = this.#audio.flush();
    for (const [index, channel] of this.#channels.entries()) {
      channel.audio(tails[index] ?? new Uint8Array(0));
      channel.finish();
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FINISH_TIMEOUT_MS);
      timer.unref();
    });
    Promise.race([Promise.all(this.#channels.map((channel) => channel.ended)), timeout])
      .then(() => {
        clearTimeout(timer);
        this.#guarded("the stream's end", () => {
          if (this.#state !== "closing") return;
          this.#send(
            metadata(this.#context.identity, {
              sha256: this.#sha256.digest("hex"),
              createdAt: this.#createdAt,
              audioMs: this.#audioMs,
              channels: this.#context.query.channels,
            }),
          );
          this.#end("ok", 1000, "");
        });
      })
      .catch((error: unknown) => this.#log.error({ err: error }, "deepgram stream: finishing failed"));
  }

  /** The audio of the stream: as the sessions counted it after `CloseStream`, else as received. */
  get #audioMs(): number {
    return Math.max(this.#audio.receivedMs, ...this.#channels.map((channel) => channel.audioMs));
  }

  #fail(code: DeepgramCloseErrorCode): void {
    const { close, reason } = DEEPGRAM_CLOSE_ERRORS[code];
    this.#end(code, close, reason);
  }

  /** The stream is over: the sessions end, the socket closes (with `closeCode` when still open). */
  #end(result: ListenResult, closeCode?: number, reason?: string): void {
    if (this.#state === "closed" || this.#state === "connecting") return;
    this.#transition("closed");
    clearTimeout(this.#idleTimer);
    for (const channel of this.#channels) channel.drop();
    const ws = this.#ws;
    if (closeCode !== undefined && ws && ws.readyState === WebSocket.OPEN) ws.close(closeCode, reason);
    this.#log.info({ result }, "deepgram stream ended");
    this.#context.ended(result, this.#audioMs);
  }

  #send(message: object): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > this.#context.maxOutboundBytes) {
      this.#fail("slow_consumer");
      return;
    }
    ws.send(JSON.stringify(message));
  }

  /** The one place the state changes: a move the table does not allow throws. */
  #transition(to: ListenStreamState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new ListenStreamStateError(`Illegal Deepgram stream transition ${this.#state} → ${to}.`);
    }
    this.#state = to;
  }

  /** A bug in handling this stream ends it (logged), never the process or another stream. */
  #guarded(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#log.error({ err: error }, `deepgram stream: ${what} failed`);
      this.#fail("stream_failed");
    }
  }
}
