/**
 * One streaming client made for load: the wire protocol spoken directly over `ws` (a `config`
 * message, binary PCM16 frames of `frameMs` (100 ms by default), `close_stream`), no SDK, so a thousand of them stay cheap
 * for the generator. A shared `Pacer` calls `pump()`; the stream sends each frame once its last
 * sample would have been captured (`t0 + end of frame / speed`) and notes, for every clip it plays,
 * when its first partial and its last final arrived.
 */
import type { RecordableHistogram } from "node:perf_hooks";
import WebSocket from "ws";
import { type Clip, FRAME_MS, type Playlist, type PlaylistItem, SILENT_FRAME } from "./playlist.js";

/** A clip as one stream played it, and what came back for it. */
export interface PlayedClip {
  readonly clip: Clip;
  /** Stream position of the clip's first sample, ms. */
  readonly startMs: number;
  /** Where the silence after it ends (the next clip's start), ms. */
  readonly regionEndMs: number;
  firstPartialAt: number | undefined;
  lastFinalAt: number | undefined;
  readonly finals: string[];
  /**
   * With `endpointingMs` (the test engine): for each final, the send time of the frame that made it
   * due and its arrival minus that time (see `dueFrame`).
   */
  readonly added: { sentAt: number; latencyMs: number }[];
}

export interface LoadStreamOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly playlist: Playlist;
  /** 1 = real time. */
  readonly speed: number;
  /** The test engine's endpointing: a final with `end_ms` E is due once audio up to E + this was sent. */
  readonly endpointingMs?: number | undefined;
  /** Receives every frame's send lag (actual − scheduled) in µs. */
  readonly sendLag: RecordableHistogram;
  /** Audio per message, ms: a divisor of the playlist's 100 ms frames (10, 20, 25, 50 or 100; default 100). */
  readonly frameMs?: number;
}

/**
 * `n` live streams to `server`, spread over its keys: stream k plays `playlistFor(k)` in real time.
 */
export function liveStreams(
  server: { readonly url: string; readonly keys: readonly string[] },
  n: number,
  playlistFor: (k: number) => Playlist,
  options: Pick<LoadStreamOptions, "endpointingMs" | "sendLag" | "frameMs">,
): LoadStream[] {
  return Array.from(
    { length: n },
    (_, k) =>
      new LoadStream({
        url: server.url,
        apiKey: server.keys[k % server.keys.length] ?? "",
        playlist: playlistFor(k),
        speed: 1,
        endpointingMs: options.endpointingMs,
        sendLag: options.sendLag,
        ...(options.frameMs === undefined ? {} : { frameMs: options.frameMs }),
      }),
  );
}

/** Frame sizes the load streams can send: whole divisors of the playlist's 100 ms frames. */
export const FRAME_SIZES_MS = [10, 20, 25, 50, 100] as const;

const CONNECT_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 30_000;
/** Send times kept for added latency: 51.2 s of audio. */
const SENT_RING_MS = 51_200;
const ACK_PREFIX = '{"type":"ack"';

export class LoadStream {
  readonly played: PlayedClip[] = [];
  /** Why the stream failed (refused, error message, unexpected close); undefined while healthy. */
  failure: string | undefined;
  readonly warnings: string[] = [];
  /** Scheduled wall time (`performance.now()`) of stream position 0. */
  t0 = Number.NaN;
  maxBufferedBytes = 0;
  /** Finals that arrived before the frame that should have made them due was sent (none for the test engine). */
  finalsBeforeDue = 0;
  readonly #options: LoadStreamOptions;
  readonly #frameMs: number;
  /** Messages per 100 ms playlist frame. */
  readonly #piecesPerFrame: number;
  readonly #sentRing: number;
  readonly #sentAt: Float64Array;
  #ws: WebSocket | undefined;
  #item: PlaylistItem | undefined;
  #frameInItem = 0;
  #pieceInFrame = 0;
  /** Messages of `frameMs` sent so far. */
  #framesSent = 0;
  #nextDueAt = Number.POSITIVE_INFINITY;
  #sending = false;
  #stoppedAt = Number.POSITIVE_INFINITY;
  #closed: Promise<void> = Promise.resolve();

  constructor(options: LoadStreamOptions) {
    this.#options = options;
    const frameMs = options.frameMs ?? FRAME_MS;
    if (!(FRAME_SIZES_MS as readonly number[]).includes(frameMs)) {
      throw new RangeError(`frameMs must be one of ${FRAME_SIZES_MS.join(", ")}, not ${frameMs}`);
    }
    this.#frameMs = frameMs;
    this.#piecesPerFrame = FRAME_MS / frameMs;
    this.#sentRing = SENT_RING_MS / frameMs;
    this.#sentAt = new Float64Array(this.#sentRing);
  }

  /** Wall time at which the sample at stream position `ms` was due to be captured. */
  wallTime(ms: number): number {
    return this.t0 + ms / this.#options.speed;
  }

  /** Stream position (ms) sent so far. */
  get sentMs(): number {
    return this.#framesSent * this.#frameMs;
  }

  /** Opens the socket and sends `config`; resolves at `session_started`, rejects on refusal. */
  connect(): Promise<void> {
    const ws = new WebSocket(this.#options.url, {
      headers: { Authorization: `Bearer ${this.#options.apiKey}` },
      perMessageDeflate: false,
    });
    this.#ws = ws;
    this.#closed = new Promise((resolve) => ws.once("close", () => resolve()));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail("no session_started within 60 s"), CONNECT_TIMEOUT_MS);
      const fail = (why: string) => {
        clearTimeout(timer);
        this.failure ??= why;
        ws.terminate();
        reject(new Error(why));
      };
      ws.on("error", (error) => fail(error.message));
      ws.on("close", (code, reasonBytes) => {
        const closed = `closed ${code}${reasonBytes.length > 0 ? ` ${reasonBytes}` : ""}`;
        if (!this.#sending && this.#stoppedAt === Number.POSITIVE_INFINITY) fail(closed);
        else if (this.#stoppedAt === Number.POSITIVE_INFINITY) this.failure ??= `${closed} while streaming`;
        else if (code !== 1000) this.failure ??= `${closed} after close_stream`;
        this.#nextDueAt = Number.POSITIVE_INFINITY;
      });
      ws.on("open", () => ws.send(this.#configMessage()));
      ws.on("message", (data: Buffer, isBinary) => {
        if (isBinary || data.toString("latin1", 0, ACK_PREFIX.length) === ACK_PREFIX) return;
        const at = performance.now();
        const message = JSON.parse(data.toString()) as ServerMessage;
        if (message.type === "session_started") {
          clearTimeout(timer);
          resolve();
        } else if (message.type === "transcript") this.#onTranscript(message, at);
        else if (message.type === "error") this.failure ??= `error ${message.code}: ${message.message}`;
        else if (message.type === "warning") this.warnings.push(`${message.code}: ${message.message}`);
      });
    });
  }

  /** SDK defaults; the test engine's endpointing is asked for explicitly, as added latency relies on it. */
  #configMessage(): string {
    const endpointingMs = this.#options.endpointingMs;
    const config = { language: "en", ...(endpointingMs === undefined ? {} : { endpointing_ms: endpointingMs }) };
    return JSON.stringify({ type: "config", config });
  }

  /** Starts the audio clock: stream position 0 is due at `t0`. */
  start(t0: number): void {
    this.t0 = t0;
    this.#sending = true;
    this.#nextDueAt = this.wallTime(this.#frameMs);
  }

  /** Sends every frame due by `now`; returns when the next one is due. */
  pump(now: number): number {
    while (this.#nextDueAt <= now) this.#sendFrame(now);
    return this.#nextDueAt;
  }

  /** Stops the audio, sends `close_stream` and waits (bounded) for the server to close. */
  async finish(): Promise<void> {
    const ws = this.#ws;
    this.#nextDueAt = Number.POSITIVE_INFINITY;
    this.#stoppedAt = performance.now();
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      ws?.terminate();
      return;
    }
    ws.send(JSON.stringify({ type: "close_stream" }));
    const timer = setTimeout(() => {
      this.failure ??= "no close within 30 s of close_stream";
      ws.terminate();
    }, CLOSE_TIMEOUT_MS);
    await this.#closed;
    clearTimeout(timer);
  }

  #sendFrame(now: number): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      this.#nextDueAt = Number.POSITIVE_INFINITY;
      return;
    }
    let item = this.#item;
    if (!item || this.#frameInItem >= item.clip.frames.length + item.gapFrames) {
      item = this.#options.playlist();
      this.#item = item;
      this.#frameInItem = 0;
      this.#pieceInFrame = 0;
      const startMs = this.#framesSent * this.#frameMs;
      const regionEndMs = startMs + (item.clip.frames.length + item.gapFrames) * FRAME_MS;
      this.played.push({
        clip: item.clip,
        startMs,
        regionEndMs,
        firstPartialAt: undefined,
        lastFinalAt: undefined,
        finals: [],
        added: [],
      });
    }
    const frame = item.clip.frames[this.#frameInItem] ?? SILENT_FRAME;
    const pieceBytes = frame.length / this.#piecesPerFrame;
    ws.send(frame.subarray(this.#pieceInFrame * pieceBytes, (this.#pieceInFrame + 1) * pieceBytes));
    this.#pieceInFrame += 1;
    if (this.#pieceInFrame === this.#piecesPerFrame) {
      this.#pieceInFrame = 0;
      this.#frameInItem += 1;
    }
    const scheduled = this.#nextDueAt;
    this.#sentAt[this.#framesSent % this.#sentRing] = performance.now();
    this.#framesSent += 1;
    this.#nextDueAt = this.wallTime((this.#framesSent + 1) * this.#frameMs);
    this.#options.sendLag.record(Math.max(1, Math.round((now - scheduled) * 1000)));
    if (ws.bufferedAmount > this.maxBufferedBytes) this.maxBufferedBytes = ws.bufferedAmount;
  }

  #onTranscript(message: TranscriptWire, at: number): void {
    if (message.text === "") return;
    const played = this.#clipAt(message.end_ms);
    if (!played) return;
    if (!message.is_final) {
      played.firstPartialAt ??= at;
      return;
    }
    played.finals.push(message.text);
    played.lastFinalAt = at;
    const endpointingMs = this.#options.endpointingMs;
    if (endpointingMs === undefined || at >= this.#stoppedAt) return;
    const frame = dueFrame(message.end_ms, endpointingMs, this.#frameMs);
    if (frame >= this.#framesSent) this.finalsBeforeDue += 1;
    else if (this.#framesSent - frame <= this.#sentRing) {
      const sentAt = this.#sentAt[frame % this.#sentRing] ?? Number.NaN;
      played.added.push({ sentAt, latencyMs: at - sentAt });
    }
  }

  /** The played clip whose region (clip and the silence after it) holds stream position `endMs`. */
  #clipAt(endMs: number): PlayedClip | undefined {
    for (let i = this.played.length - 1; i >= 0; i--) {
      const played = this.played[i];
      if (played && played.startMs < endMs) return endMs <= played.regionEndMs ? played : undefined;
    }
    return undefined;
  }
}

/**
 * The test engine ends an utterance once `endpointingMs` of silence follows its last speech frame,
 * so a final whose speech ended at `endMs` became due with the sample just before `endMs +
 * endpointingMs`: the frame holding that sample is the one that made it due.
 */
export function dueFrame(endMs: number, endpointingMs: number, frameMs: number = FRAME_MS): number {
  return Math.ceil((endMs + endpointingMs) / frameMs) - 1;
}

interface TranscriptWire {
  readonly type: "transcript";
  readonly is_final: boolean;
  readonly text: string;
  readonly end_ms: number;
}

type ServerMessage =
  | TranscriptWire
  | { readonly type: "session_started" }
  | { readonly type: "error" | "warning"; readonly code: string; readonly message: string }
  | { readonly type: "stream_closed" | "ack" | "session_resumed" };
