/**
 * Moves audio from the replay buffer to the current connection, in order, at the pace the socket
 * takes it. `send()` only appends to the buffer; the pump writes chunks while the socket's
 * `bufferedAmount` is at most `maxBufferedBytes` and retries shortly when it is backed up. A new
 * connection `attach()`es at the stream position the server named and the pump replays from there,
 * with a fresh chunker (so in seed mode the first chunk carries no overlap prefix) and a fresh wire
 * encoder (μ-law, A-law and Opus encoders start over at the server's position; see wire-encoder.ts).
 *
 * Positions evicted from the buffer before they reached a server are sent as silence, so the
 * stream's clock never skips and times stay stream-absolute; each such range is reported once, as
 * soon as the loss is certain (`lost`): at eviction for audio never sent, at attach for audio a
 * dropped connection may have missed.
 */
import type { Encoding } from "@earshot/protocol";
import { encodeClientMessage } from "@earshot/protocol/client-message-encoder";
import { SAMPLES_PER_MS } from "@earshot/protocol/encodings";
import { Chunker } from "./chunker.js";
import type { AudioMode } from "./options.js";
import { bytesToHex } from "./pcm-input.js";
import { type EvictedRange, ReplayBuffer } from "./replay-buffer.js";
import { createWireEncoder, type WireEncoder } from "./wire-encoder.js";

const PUMP_RETRY_MS = 10;

export interface AudioLink {
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
}

export interface AudioLoss {
  readonly lostMs: number;
  readonly fromSample: number;
  readonly toSample: number;
}

export interface AudioSenderOptions {
  readonly mode: AudioMode;
  /** Default pcm_s16le. */
  readonly encoding?: Encoding;
  /** Channels interleaved in the audio (default 1): positions, chunks and buffer count frames. */
  readonly channels?: number;
  readonly chunkSamples: number;
  readonly overlapSamples: number;
  readonly maxBufferedSamples: number;
  readonly maxBufferedBytes: number;
  /** Everything appended is on the socket again after `send()` returned false. */
  readonly onDrain: () => void;
  readonly onLost: (loss: AudioLoss) => void;
}

export class AudioSender {
  readonly buffer: ReplayBuffer;
  readonly #options: AudioSenderOptions;
  readonly #silence: Int16Array;
  #link: AudioLink | undefined;
  #chunker: Chunker;
  #encoder: WireEncoder;
  /** Stream position of the next sample for the chunker (on the current or the last connection). */
  #position = 0;
  /** Stream positions where `finalize` goes out, ascending; those before `#nextFinalize` are sent. */
  #finalizeAt: number[] = [];
  #nextFinalize = 0;
  #closeAt: number | undefined;
  #closeSent = false;
  /** The encoder's held samples went out for the `close_stream` of this connection. */
  #encoderFlushed = false;
  #backpressured = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Ranges already reported lost, ascending and disjoint (only those a connection may still ask for). */
  #reported: [number, number][] = [];
  #lostSamples = 0;

  constructor(options: AudioSenderOptions) {
    this.#options = options;
    this.buffer = new ReplayBuffer(options.maxBufferedSamples, this.#channels);
    this.#silence = new Int16Array(options.chunkSamples * this.#channels);
    this.#chunker = this.#newChunker();
    this.#encoder = this.#newEncoder();
  }

  get #channels(): number {
    return this.#options.channels ?? 1;
  }

  /** Audio appended but not yet handed to a connection, in samples. */
  get backlogSamples(): number {
    return this.buffer.endSample - this.#position;
  }

  /** Total audio reported lost so far, in samples. */
  get lostSamples(): number {
    return this.#lostSamples;
  }

  /** Appends audio and pumps; false while some of it waits (backed-up socket, or no connection). */
  append(pcm: Int16Array): boolean {
    const evicted = this.buffer.append(pcm);
    if (evicted) this.#evicted(evicted);
    this.#pump();
    if (this.backlogSamples === 0) return true;
    this.#backpressured = true;
    return false;
  }

  /** `finalize` after the audio appended so far. */
  finalize(): void {
    this.#finalizeAt.push(this.buffer.endSample);
    this.#pump();
  }

  /** `close_stream` after the audio appended so far (again on every later connection). */
  closeStream(): void {
    this.#closeAt = this.buffer.endSample;
    this.#pump();
  }

  /** Starts sending on a connection at stream position `fromSample`. */
  attach(link: AudioLink, fromSample: number): void {
    this.detach();
    if (fromSample < this.buffer.startSample) this.report(fromSample, this.buffer.startSample);
    this.#link = link;
    this.#position = Math.min(fromSample, this.buffer.endSample);
    this.#chunker = this.#newChunker();
    this.#encoder.close();
    this.#encoder = this.#newEncoder();
    this.#encoderFlushed = false;
    this.#nextFinalize = this.#finalizeAt.findIndex((at) => at >= this.#position);
    if (this.#nextFinalize === -1) this.#nextFinalize = this.#finalizeAt.length;
    this.#closeSent = false;
    this.#pump();
  }

  detach(): void {
    this.#link = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The stream is over: detaches and frees the encoder. */
  close(): void {
    this.detach();
    this.#encoder.close();
  }

  /** Forgets audio before `position`, never what has not been sent yet. */
  release(position: number): void {
    const upTo = Math.min(position, this.#position);
    this.buffer.release(upTo);
    while ((this.#finalizeAt[0] ?? Number.POSITIVE_INFINITY) < upTo) {
      this.#finalizeAt.shift();
      this.#nextFinalize = Math.max(0, this.#nextFinalize - 1);
    }
    while ((this.#reported[0]?.[1] ?? Number.POSITIVE_INFINITY) <= upTo) this.#reported.shift();
  }

  /** Reports [from, to) lost, minus what was already reported. */
  report(from: number, to: number): void {
    let at = from;
    const pieces: [number, number][] = [];
    for (const [a, b] of this.#reported) {
      if (b <= at) continue;
      if (a >= to) break;
      if (a > at) pieces.push([at, a]);
      at = Math.max(at, b);
    }
    if (at < to) pieces.push([at, to]);
    for (const [a, b] of pieces) {
      this.#remember(a, b);
      this.#lostSamples += b - a;
      this.#options.onLost({ lostMs: (b - a) / SAMPLES_PER_MS, fromSample: a, toSample: b });
    }
  }

  #remember(from: number, to: number): void {
    const ranges = this.#reported;
    ranges.push([from, to]);
    ranges.sort((x, y) => x[0] - y[0]);
    this.#reported = ranges.reduce<[number, number][]>((merged, range) => {
      const last = merged.at(-1);
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push([range[0], range[1]]);
      return merged;
    }, []);
  }

  /** Evicted audio never handed to a connection is certainly lost; the rest only if a resume needs it. */
  #evicted({ fromSample, toSample }: EvictedRange): void {
    const from = Math.max(fromSample, this.#position);
    if (from < toSample) this.report(from, toSample);
  }

  /** A WebCodecs encoder's packets come later: they go to the connection the encoder was made for. */
  #newEncoder(): WireEncoder {
    const output = (payload: Uint8Array) => {
      if (this.#encoder === encoder && this.#link) this.#sendPayload(this.#link, payload);
    };
    const encoder: WireEncoder = createWireEncoder(this.#options.encoding ?? "pcm_s16le", output, this.#channels);
    return encoder;
  }

  #newChunker(): Chunker {
    // Chunks of whole frames: a frame's samples are never split between messages.
    const channels = this.#channels;
    return new Chunker({
      chunkSamples: this.#options.chunkSamples * channels,
      overlapSamples: this.#options.overlapSamples * channels,
    });
  }

  #writable(): boolean {
    return this.#link !== undefined && this.#link.bufferedAmount <= this.#options.maxBufferedBytes;
  }

  #pump(): void {
    const link = this.#link;
    if (link === undefined) return;
    while (this.#writable()) {
      const control = this.#nextControl();
      if (control !== undefined && control.at <= this.#position) {
        const rest = this.#chunker.flush();
        if (rest) this.#sendChunk(link, rest);
        if (control.kind === "close_stream" && !this.#encoderFlushed) {
          // The end of the stream: what the encoder holds goes too (a finalize leaves it for later).
          for (const payload of this.#encoder.flush()) this.#sendPayload(link, payload);
          this.#encoderFlushed = true;
        }
        // The control message follows the packets of the audio before it (WebCodecs: still coming).
        if (this.#encoder.busy) break;
        if (control.kind === "finalize") this.#nextFinalize++;
        else this.#closeSent = true;
        link.send(encodeClientMessage({ type: control.kind }));
        continue;
      }
      const limit = Math.min(this.buffer.endSample, control?.at ?? Number.POSITIVE_INFINITY);
      if (this.#position >= limit) break;
      const piece =
        this.#position < this.buffer.startSample
          ? this.#silence.subarray(0, (Math.min(limit, this.buffer.startSample) - this.#position) * this.#channels)
          : this.buffer.view(this.#position, Math.min(limit - this.#position, this.#options.chunkSamples));
      for (const chunk of this.#chunker.push(piece)) this.#sendChunk(link, chunk);
      this.#position += piece.length / this.#channels;
    }
    if (this.backlogSamples > 0 || this.#nextControl() !== undefined) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, PUMP_RETRY_MS);
    } else if (this.#backpressured) {
      this.#backpressured = false;
      this.#options.onDrain();
    }
  }

  #nextControl(): { kind: "finalize" | "close_stream"; at: number } | undefined {
    const finalizeAt = this.#finalizeAt[this.#nextFinalize];
    if (finalizeAt !== undefined) return { kind: "finalize", at: finalizeAt };
    if (this.#closeAt !== undefined && !this.#closeSent) return { kind: "close_stream", at: this.#closeAt };
    return undefined;
  }

  #sendChunk(link: AudioLink, chunk: Int16Array): void {
    for (const payload of this.#encoder.encode(chunk)) this.#sendPayload(link, payload);
  }

  #sendPayload(link: AudioLink, payload: Uint8Array): void {
    link.send(
      this.#options.mode === "seed"
        ? encodeClientMessage({ type: "audio_chunk", audio: bytesToHex(payload) })
        : payload,
    );
  }
}
