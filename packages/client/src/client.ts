/**
 * `EarshotClient`: one streaming transcription session over one WebSocket.
 *
 * Lifecycle (explicit, see TRANSITIONS): idle → connecting → open → closing → closed, where
 * `connecting` covers the WebSocket handshake and the `config` → `session_started` exchange, and
 * `closing` is the wait for `stream_closed` after `close_stream`. Any state can end in `closed`.
 *
 * Backpressure: a chunk is written straight to the socket while the socket's `bufferedAmount` is at
 * most `maxBufferedBytes`; otherwise it waits in a queue of at most `maxQueuedMs` of audio, drained
 * as the socket empties (`drain` event). When the queue is full the oldest queued audio is dropped
 * (a `warning` with code `audio_dropped` says how much): for live audio, late speech is worth less
 * than current speech, and the caller's memory stays bounded. `send()` returns false while audio is
 * queued, like a stream's `write()`.
 */
import type { SessionStartedMessage, TranscriptMessage, WarningCode } from "@earshot/protocol";
import { TranscriptAggregator } from "./aggregator.js";
import { Chunker } from "./chunker.js";
import { TypedEmitter } from "./emitter.js";
import { EarshotClientError } from "./errors.js";
import {
  type AudioMode,
  type Chunking,
  type ChunkingPreset,
  type ClientStreamConfig,
  configMessage,
  resolveChunking,
  streamUrl,
} from "./options.js";
import { type PcmInput, PcmInputReader, pcmBytes, pcmToHex } from "./pcm-input.js";
import { parseServerMessage } from "./server-messages.js";
import type { Transport, TransportFactory } from "./transport.js";

export type ClientState = "idle" | "connecting" | "open" | "closing" | "closed";

const TRANSITIONS: { readonly [S in ClientState]: readonly ClientState[] } = {
  idle: ["connecting", "closed"],
  connecting: ["open", "closed"],
  open: ["closing", "closed"],
  closing: ["closed"],
  closed: [],
};

export interface StateChange {
  readonly from: ClientState;
  readonly to: ClientState;
}

export interface ClientWarning {
  /** A server warning code, or `audio_dropped` (the client's send queue overflowed). */
  readonly code: WarningCode | "audio_dropped";
  readonly message: string;
}

export interface CloseResult {
  /** WebSocket close code (1000 after a clean `close_stream`; 1006 when the client gave up). */
  readonly code: number;
  readonly reason: string;
  /** Audio the server consumed, from `stream_closed` (undefined if it never came). */
  readonly audioMs: number | undefined;
}

export type ClientEvents = {
  partial: TranscriptMessage;
  final: TranscriptMessage;
  error: EarshotClientError;
  warning: ClientWarning;
  state: StateChange;
  session: SessionStartedMessage;
  /** The send queue emptied after backpressure. */
  drain: undefined;
};

export interface EarshotClientCoreOptions {
  /** Server base URL (`http://host:port`, `wss://host`) or the full stream endpoint URL. */
  readonly url: string;
  readonly apiKey?: string;
  /** Stream settings; `language` defaults to "en". */
  readonly config?: ClientStreamConfig;
  /** Default "binary". */
  readonly mode?: AudioMode;
  /** Default `low-latency` (binary) or `seed-en` / `seed-zh` (seed, by language). */
  readonly chunking?: ChunkingPreset | Chunking;
  readonly transport: TransportFactory;
  /** Audio held while the socket is backed up; beyond it the oldest is dropped. Default 10 000. */
  readonly maxQueuedMs?: number;
  /** Socket `bufferedAmount` above which chunks wait in the queue. Default 64 KiB (2 s of audio). */
  readonly maxBufferedBytes?: number;
  /** Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** How long `close()` waits for `stream_closed` before dropping the connection. Default 10 000. */
  readonly closeTimeoutMs?: number;
}

type Outgoing =
  | { readonly kind: "audio"; readonly data: string | Uint8Array; readonly samples: number }
  | { readonly kind: "control"; readonly data: string };

const SAMPLES_PER_MS = 16;
const PUMP_RETRY_MS = 10;

export class EarshotClient extends TypedEmitter<ClientEvents> implements AsyncDisposable {
  readonly url: string;
  readonly mode: AudioMode;
  readonly chunking: Required<Chunking>;
  /** Every transcript of this session, assembled (finals by segment, plus the live partial). */
  readonly transcript = new TranscriptAggregator();
  readonly #apiKey: string | undefined;
  readonly #config: ClientStreamConfig;
  readonly #transportFactory: TransportFactory;
  readonly #maxQueuedSamples: number;
  readonly #maxBufferedBytes: number;
  readonly #connectTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #chunker: Chunker;
  readonly #input = new PcmInputReader();
  #state: ClientState = "idle";
  #transport: Transport | undefined;
  #session: SessionStartedMessage | undefined;
  #queue: Outgoing[] = [];
  #queuedSamples = 0;
  #backpressured = false;
  #pumpTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #connect:
    | {
        promise: Promise<SessionStartedMessage>;
        resolve: (s: SessionStartedMessage) => void;
        reject: (e: EarshotClientError) => void;
      }
    | undefined;
  #closeRequest: Promise<CloseResult> | undefined;
  readonly #closed: Promise<CloseResult>;
  #resolveClosed: (result: CloseResult) => void = () => {};
  #audioMs: number | undefined;
  /** Why the connection is failing, reported once (server `error` message, transport error, timeout). */
  #failure: EarshotClientError | undefined;

  constructor(options: EarshotClientCoreOptions) {
    super();
    this.url = streamUrl(options.url);
    this.mode = options.mode ?? "binary";
    this.#config = options.config ?? {};
    this.chunking = resolveChunking(options.chunking, this.mode, this.#config.language ?? "en");
    this.#apiKey = options.apiKey;
    this.#transportFactory = options.transport;
    this.#maxQueuedSamples = (options.maxQueuedMs ?? 10_000) * SAMPLES_PER_MS;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.#chunker = new Chunker({
      chunkSamples: Math.round(this.chunking.chunkMs * SAMPLES_PER_MS),
      overlapSamples: Math.round(this.chunking.overlapMs * SAMPLES_PER_MS),
    });
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The server's `session_started`, once open. */
  get session(): SessionStartedMessage | undefined {
    return this.#session;
  }

  /** Audio waiting in the send queue, in ms. */
  get queuedMs(): number {
    return this.#queuedSamples / SAMPLES_PER_MS;
  }

  /**
   * Opens the WebSocket, sends `config`, resolves on `session_started`. Rejects with an
   * `EarshotClientError`: the server's code (`unauthorized` on HTTP 401 in Node, `unsupported_language`
   * …) or `connection_failed`. Calling it again returns the same promise.
   */
  connect(): Promise<SessionStartedMessage> {
    if (this.#connect) return this.#connect.promise;
    if (this.#state !== "idle") {
      return Promise.reject(new EarshotClientError("invalid_state", `connect() in state ${this.#state}.`));
    }
    let resolve: (s: SessionStartedMessage) => void = () => {};
    let reject: (e: EarshotClientError) => void = () => {};
    const promise = new Promise<SessionStartedMessage>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#connect = { promise, resolve, reject };
    this.#transition("connecting");
    this.#connectTimer = setTimeout(() => {
      this.#abort(new EarshotClientError("connection_failed", `No session after ${this.#connectTimeoutMs} ms.`));
    }, this.#connectTimeoutMs);
    try {
      this.#transport = this.#transportFactory(
        { url: this.url, apiKey: this.#apiKey },
        {
          open: () => this.#onOpen(),
          message: (data) => this.#onMessage(data),
          error: (error) => {
            this.#failure ??= error;
          },
          close: (code, reason) => this.#onTransportClose(code, reason),
        },
      );
    } catch (error) {
      this.#abort(
        error instanceof EarshotClientError
          ? error
          : new EarshotClientError("connection_failed", String(error), { cause: error }),
      );
    }
    return promise;
  }

  /**
   * Queues audio: 16 kHz mono as Int16Array, Float32Array (−1..1) or PCM16LE bytes. Full chunks go
   * out at once (views of `pcm`, no copy, unless they must wait in the queue). Returns false while
   * audio is queued behind a backed-up socket (wait for `drain` to keep latency low).
   */
  send(pcm: PcmInput): boolean {
    if (this.#state !== "connecting" && this.#state !== "open") {
      throw new EarshotClientError("invalid_state", `send() in state ${this.#state}.`);
    }
    const samples = this.#input.read(pcm);
    const userMemory = samples.buffer === pcm.buffer;
    for (const chunk of this.#chunker.push(samples)) this.#enqueueAudio(chunk, userMemory);
    return this.#queue.length === 0;
  }

  /** Sends the partial chunk, then asks the server to end the current utterance now. */
  finalize(): void {
    if (this.#state !== "connecting" && this.#state !== "open") {
      throw new EarshotClientError("invalid_state", `finalize() in state ${this.#state}.`);
    }
    this.#flushChunker();
    this.#enqueueControl({ type: "finalize" });
  }

  /** Keeps an idle stream from timing out at proxies. */
  keepalive(): void {
    if (this.#state === "open") this.#enqueueControl({ type: "keepalive" });
  }

  /**
   * Sends what is left (the partial chunk, then `close_stream`), waits for the last finals and
   * `stream_closed`, resolves when the socket is closed. Idempotent: every call returns the same
   * promise. Never rejects; a failure is reported through the `error` event.
   */
  close(): Promise<CloseResult> {
    this.#closeRequest ??= this.#beginClose();
    return this.#closeRequest;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close().then(() => undefined);
  }

  #beginClose(): Promise<CloseResult> {
    switch (this.#state) {
      case "idle":
        this.#finish(1000, "closed before connect");
        break;
      case "connecting":
        this.#abort(new EarshotClientError("connection_failed", "close() was called before the session started."));
        break;
      case "open":
        this.#flushChunker();
        this.#enqueueControl({ type: "close_stream" });
        this.#transition("closing");
        this.#closeTimer = setTimeout(() => {
          this.#abort(
            new EarshotClientError("close_timeout", `No stream_closed within ${this.#closeTimeoutMs} ms of close().`),
          );
        }, this.#closeTimeoutMs);
        break;
      case "closing":
      case "closed":
        break;
    }
    return this.#closed;
  }

  #transition(to: ClientState): void {
    const from = this.#state;
    if (!TRANSITIONS[from].includes(to)) {
      throw new EarshotClientError("invalid_state", `Illegal state transition ${from} → ${to}.`);
    }
    this.#state = to;
    this.emit("state", { from, to });
  }

  #onOpen(): void {
    if (this.#state !== "connecting") return;
    this.#transport?.send(configMessage(this.#config, this.chunking.overlapMs));
  }

  #onMessage(data: string | Uint8Array): void {
    if (this.#state === "closed") return;
    if (typeof data !== "string") {
      this.#protocolError("the server sent a binary frame");
      return;
    }
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      this.#protocolError(parsed.reason);
      return;
    }
    const message = parsed.message;
    if (message === undefined) return;
    switch (message.type) {
      case "session_started":
        if (this.#state !== "connecting") {
          this.#protocolError("a second session_started");
          return;
        }
        clearTimeout(this.#connectTimer);
        this.#session = message;
        this.#transition("open");
        this.emit("session", message);
        this.#connect?.resolve(message);
        this.#pump();
        return;
      case "transcript":
        this.transcript.add(message);
        this.emit(message.is_final ? "final" : "partial", message);
        return;
      case "error": {
        const error = new EarshotClientError(message.code, message.message, { retryable: message.retryable });
        if (this.#state === "connecting") {
          // e.g. unsupported_language: the server would wait for another config; this client will not.
          this.#abort(error);
          return;
        }
        this.#failure ??= error;
        this.emit("error", error);
        return;
      }
      case "warning":
        this.emit("warning", { code: message.code, message: message.message });
        return;
      case "stream_closed":
        this.#audioMs = message.audio_ms;
        return;
    }
  }

  #protocolError(reason: string): void {
    const error = new EarshotClientError("protocol_error", `Unexpected server message: ${reason}.`);
    if (this.#state === "connecting") this.#abort(error);
    else this.emit("error", error);
  }

  #onTransportClose(code: number, reason: string): void {
    if (this.#state === "closed") return;
    if (this.#state === "connecting") {
      this.#connect?.reject(
        this.#failure ??
          new EarshotClientError("connection_failed", `Connection closed (${code}) before the session started.`, {
            closeCode: code,
          }),
      );
    } else if (code !== 1000 && this.#failure === undefined) {
      this.#failure = new EarshotClientError(
        "connection_lost",
        `Connection closed with ${code}${reason ? ` (${reason})` : ""}.`,
        { closeCode: code },
      );
      this.emit("error", this.#failure);
    }
    this.#finish(code, reason);
  }

  /** Ends the session now, from the client's side: reports `error`, drops the socket. */
  #abort(error: EarshotClientError): void {
    if (this.#state === "closed") return;
    this.#failure ??= error;
    if (this.#state === "connecting") this.#connect?.reject(error);
    else this.emit("error", error);
    this.#transport?.close(1000, "client abort");
    this.#finish(1006, error.message);
  }

  #finish(code: number, reason: string): void {
    if (this.#state === "closed") return;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#pumpTimer);
    this.#queue = [];
    this.#queuedSamples = 0;
    this.#transition("closed");
    this.#resolveClosed({ code, reason, audioMs: this.#audioMs });
  }

  #flushChunker(): void {
    const rest = this.#chunker.flush();
    if (rest) this.#enqueueAudio(rest, false);
  }

  #enqueueAudio(chunk: Int16Array, userMemory: boolean): void {
    const data = this.mode === "seed" ? `{"type":"audio_chunk","audio":"${pcmToHex(chunk)}"}` : pcmBytes(chunk);
    if (this.#queue.length === 0 && this.#writable()) {
      this.#transport?.send(data);
      return;
    }
    // The caller may reuse its buffer as soon as send() returns: keep a copy.
    this.#queue.push({
      kind: "audio",
      data: userMemory && typeof data !== "string" ? data.slice() : data,
      samples: chunk.length,
    });
    this.#queuedSamples += chunk.length;
    this.#backpressured = true;
    if (this.#queuedSamples > this.#maxQueuedSamples) this.#dropOldestAudio();
    this.#schedulePump();
  }

  #enqueueControl(message: { type: "finalize" | "close_stream" | "keepalive" }): void {
    const data = JSON.stringify(message);
    if (this.#queue.length === 0 && this.#writable()) this.#transport?.send(data);
    else {
      this.#queue.push({ kind: "control", data });
      this.#schedulePump();
    }
  }

  #dropOldestAudio(): void {
    let dropped = 0;
    this.#queue = this.#queue.filter((item) => {
      if (item.kind !== "audio" || this.#queuedSamples <= this.#maxQueuedSamples) return true;
      this.#queuedSamples -= item.samples;
      dropped += item.samples;
      return false;
    });
    this.emit("warning", {
      code: "audio_dropped",
      message: `Send queue full (${this.#maxQueuedSamples / SAMPLES_PER_MS} ms): dropped the oldest ${dropped / SAMPLES_PER_MS} ms of audio.`,
    });
  }

  #writable(): boolean {
    const transport = this.#transport;
    return (
      transport !== undefined &&
      (this.#state === "open" || this.#state === "closing") &&
      transport.bufferedAmount <= this.#maxBufferedBytes
    );
  }

  #schedulePump(): void {
    // While connecting, session_started starts the pump.
    if (this.#pumpTimer !== undefined || (this.#state !== "open" && this.#state !== "closing")) return;
    this.#pumpTimer = setTimeout(() => {
      this.#pumpTimer = undefined;
      this.#pump();
    }, PUMP_RETRY_MS);
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      if (!this.#writable()) {
        this.#schedulePump();
        return;
      }
      const item = this.#queue.shift() as Outgoing;
      if (item.kind === "audio") this.#queuedSamples -= item.samples;
      this.#transport?.send(item.data);
    }
    if (this.#backpressured) {
      this.#backpressured = false;
      this.emit("drain", undefined);
    }
  }
}
