/**
 * One stream's decoding on a worker: cuts the audio into fixed blocks, follows PocketSphinx's VAD
 * the way `pocketsphinx_continuous` does (an utterance ends when `ps_get_in_speech` drops), and
 * turns hypotheses into partial / final / endpoint / usage events.
 *
 * Stream-absolute times. With `-remove_silence yes` the VAD drops silence before the decoder sees
 * it, so an utterance's frame 0 is at no fixed stream position. The library itself tracks it: its
 * front end counts every sample since `ps_start_stream`, records the stream frame at which each
 * utterance's audio begins (the VAD trigger minus its pre-speech frames), and `ps_seg_frames`
 * adds that offset. So words come out in stream frames, provided each stream begins with
 * `ps_start_stream` (done in `Decoder.startStream`). Measured: a file decoded alone and the same
 * file appended after 3.5 s of other speech and noise gave the same words, shifted by the prefix
 * length to within 10 ms; with `-remove_silence no` (no VAD offset at all) the first utterance's
 * word times were identical. `-remove_silence no` is not used: the VAD would no longer end
 * utterances, so there would be no finals at pauses.
 *
 * Fixed blocks make the output independent of how the caller chunks its pushes: the VAD is read
 * after every block at the same stream positions whatever the push sizes were.
 */

import type { TranscriptEvent } from "@earshot/engines";
import { SAMPLES_PER_MS } from "@earshot/protocol";
import type { DecodedWord, Decoder } from "./binding.js";
import { type DecoderState, primeDecoder, resetTopNHistory, snapshotDecoderState } from "./decoder-state.js";
import type { SessionCheckpoint, WireEvent } from "./messages.js";

const MS_PER_FRAME = 10;
/** 20 ms: the VAD is read (and an utterance can end) at this granularity. */
export const BLOCK_SAMPLES = 320;
/**
 * A partial is read from the decoder at most once per 100 ms of audio: reading the hypothesis and
 * its words costs more as the utterance grows, and a caller that pushes small pieces (the VAD gate
 * forwards 32 ms windows) would otherwise pay it three times as often for no visible gain. It is
 * read after the block that completes the interval, wherever the pushes begin and end: where the
 * partials are read is a function of the audio alone, not of how it was cut into pushes (audio that
 * waited for a decoder is decoded in larger turns), and so are the finals.
 */
const PARTIAL_INTERVAL_SAMPLES = 1_600;

export interface DecodingSessionOptions {
  readonly wordTimestamps: boolean;
  readonly postspeechMs: number;
  readonly externalEndpointing: boolean;
  /**
   * Take a checkpoint at every flush and restart the decoder from it, so the session's words never
   * depend on which decoder it had: it may give its decoder back between utterances. Off when the
   * library's structs are not the ones decoder-state.ts knows.
   */
  readonly checkpoints: boolean;
  /**
   * The acoustic adaptation of the process (absent: none): each decoder the session attaches gets
   * the session's transform first (`path`; undefined: the model as read, through `identity`), so a
   * decoder that last served a telephone stream decodes a wideband one exactly as a fresh decoder.
   */
  readonly mllr?: { readonly path: string | undefined; readonly identity: string };
}

export class DecodingSession {
  #decoder: Decoder | undefined;
  readonly #checkpoints: boolean;
  readonly #mllr: DecodingSessionOptions["mllr"];
  readonly #onCheckpoint: (checkpoint: SessionCheckpoint) => void;
  #saved: SessionCheckpoint | undefined;
  /** No audio since the last checkpoint (or since the start): the decoder may be given back. */
  #atCheckpoint = true;
  #flushes = 0;
  readonly #wordTimestamps: boolean;
  readonly #emit: (event: WireEvent) => void;
  readonly #postspeechMs: number;
  /**
   * The caller (a VAD gate) ends utterances with `flush`; the library's VAD is off
   * (`-remove_silence no`), so every decoded block counts as speech. The library's frame counter
   * then drifts by about 100 ms after the first utterance, so it is restarted at each utterance and
   * this side adds the utterance's start.
   */
  readonly #externalEndpointing: boolean;
  #utteranceStartMs = 0;
  readonly #block = new Int16Array(BLOCK_SAMPLES);
  #blockLength = 0;
  /** Samples handed to the decoder so far. */
  #samples = 0;
  /** The VAD has heard speech since the current utterance began. */
  #speechStarted = false;
  #lastPartial = "";
  /** `#samples` when the last partial was read. */
  #partialAt = 0;
  /** End of the last word emitted in a final: later words never start before it. */
  #lastEndMs = 0;
  #processingMs = 0;

  /**
   * A session without a decoder yet (`attach` one before it decodes). With `from`, it continues a
   * stream from that checkpoint (a stream moved off a crashed process).
   */
  constructor(
    options: DecodingSessionOptions,
    emit: (event: WireEvent) => void,
    onCheckpoint: (checkpoint: SessionCheckpoint) => void,
    from?: SessionCheckpoint,
  ) {
    this.#wordTimestamps = options.wordTimestamps;
    this.#postspeechMs = options.postspeechMs;
    this.#externalEndpointing = options.externalEndpointing;
    this.#checkpoints = options.checkpoints;
    this.#mllr = options.mllr;
    this.#emit = emit;
    this.#onCheckpoint = onCheckpoint;
    if (from) {
      this.#saved = from;
      this.#samples = from.samples;
      this.#lastEndMs = from.lastEndMs;
      this.#utteranceStartMs = from.utteranceStartMs;
      this.#partialAt = from.partialAt;
      this.#processingMs = from.processingMs;
      this.#flushes = from.flushes;
    }
  }

  get decoder(): Decoder | undefined {
    return this.#decoder;
  }

  /** Whether the next work needs a decoder: audio, or a flush or end with audio since the last checkpoint. */
  needsDecoder(work: "push" | "flush" | "end"): boolean {
    return work === "push" || !this.#atCheckpoint;
  }

  /** The session may give its decoder back: nothing decoded since its last checkpoint. */
  get canLend(): boolean {
    return this.#checkpoints && this.#atCheckpoint && this.#decoder !== undefined;
  }

  /** Start decoding on `decoder`, restored to the last checkpoint (or fresh, before the first). */
  attach(decoder: Decoder): void {
    if (this.#mllr) decoder.useMllr(this.#mllr.path, this.#mllr.identity);
    decoder.startStream(this.#restore(this.#saved?.decoder));
    this.#decoder = decoder;
  }

  /** Take the decoder back (see `canLend`); the session keeps its checkpoint. */
  detach(): Decoder | undefined {
    const decoder = this.#decoder;
    this.#decoder = undefined;
    return decoder;
  }

  push(pcm: Int16Array): void {
    const started = performance.now();
    this.#atCheckpoint = false;
    this.#decodeBlocks(pcm);
    this.#account(started);
  }

  /**
   * Decode what is buffered and close the utterance in progress. Without `pauseAtMs`, as at a pause
   * but without an endpoint; with it, the caller detected a pause: a speech final, then an endpoint there.
   */
  flush(pauseAtMs?: number): void {
    const started = performance.now();
    if (this.#blockLength > 0) {
      this.#decodeBlock(this.#block.subarray(0, this.#blockLength));
      this.#blockLength = 0;
    }
    if (this.#speechStarted) this.#finishUtterance(pauseAtMs !== undefined, false);
    if (pauseAtMs !== undefined) this.#emit({ type: "endpoint", atMs: pauseAtMs });
    this.#flushes++;
    if (this.#checkpoints && !this.#atCheckpoint) this.#checkpoint();
    this.#account(started);
  }

  /** Flush, then report usage. The decoder is left between utterances, ready for reuse. */
  end(): void {
    this.flush();
    this.#decoder?.endUtterance();
    this.#emit({
      type: "usage",
      audioMs: Math.round(this.#samples / SAMPLES_PER_MS),
      processingMs: Math.round(this.#processingMs),
    });
  }

  /**
   * Save where the stream stands and restart the decoder from it, as a decoder borrowed later would
   * be: whether the session keeps its decoder or not, the next utterance starts from the same state.
   */
  #checkpoint(): void {
    const decoder = this.#live();
    decoder.endUtterance();
    const state = snapshotDecoderState(decoder.native);
    this.#saved = {
      decoder: state,
      samples: this.#samples,
      lastEndMs: this.#lastEndMs,
      utteranceStartMs: this.#utteranceStartMs,
      partialAt: this.#partialAt,
      processingMs: this.#processingMs,
      flushes: this.#flushes,
    };
    decoder.startStream(this.#restore(state));
    this.#atCheckpoint = true;
    this.#onCheckpoint(this.#saved);
  }

  /**
   * What a decoder starting (or restarting) this stream is set to: the stream's carried state, and
   * a top-N history as fresh as a new decoder's, so no earlier stream of the decoder shows.
   */
  #restore(state: DecoderState | undefined): ((ps: unknown) => void) | undefined {
    if (!this.#checkpoints) return undefined;
    return (ps) => {
      resetTopNHistory(ps);
      if (state) primeDecoder(ps, state);
    };
  }

  #live(): Decoder {
    if (!this.#decoder) throw new Error("the session has no decoder attached");
    return this.#decoder;
  }

  /** Wall time of the decoding process inside the decoder: it does nothing else meanwhile. */
  #account(started: number): void {
    this.#processingMs += performance.now() - started;
  }

  /** Decode every whole block `pcm` completes, each followed by its partial if one is due; the rest waits. */
  #decodeBlocks(pcm: Int16Array): void {
    let offset = 0;
    if (this.#blockLength > 0) {
      offset = Math.min(BLOCK_SAMPLES - this.#blockLength, pcm.length);
      this.#block.set(pcm.subarray(0, offset), this.#blockLength);
      this.#blockLength += offset;
      if (this.#blockLength < BLOCK_SAMPLES) return;
      this.#decodeBlock(this.#block);
      this.#blockLength = 0;
      this.#partialIfDue();
    }
    while (pcm.length - offset >= BLOCK_SAMPLES) {
      this.#decodeBlock(pcm.subarray(offset, offset + BLOCK_SAMPLES));
      offset += BLOCK_SAMPLES;
      this.#partialIfDue();
    }
    this.#block.set(pcm.subarray(offset));
    this.#blockLength = pcm.length - offset;
  }

  #partialIfDue(): void {
    if (!this.#speechStarted || this.#samples - this.#partialAt < PARTIAL_INTERVAL_SAMPLES) return;
    this.#partialAt = this.#samples;
    this.#emitPartial();
  }

  #decodeBlock(block: Int16Array): void {
    const decoder = this.#live();
    decoder.process(block);
    this.#samples += block.length;
    const inSpeech = this.#externalEndpointing || decoder.inSpeech;
    if (inSpeech) this.#speechStarted = true;
    else if (this.#speechStarted) this.#finishUtterance(true);
  }

  #emitPartial(): void {
    const text = this.#live().hypothesis();
    if (text === this.#lastPartial || text === "") return;
    this.#lastPartial = text;
    this.#emit({ type: "partial", ...this.#transcript(text) });
  }

  /** `endpoint`: emit the endpoint event here (false when the caller supplies its own). */
  #finishUtterance(atPause: boolean, endpoint = atPause): void {
    const decoder = this.#live();
    decoder.endUtterance();
    const final = this.#transcript(decoder.hypothesis());
    if (this.#externalEndpointing) {
      decoder.restartFrameCount();
      this.#utteranceStartMs = this.#streamMs();
    }
    decoder.startUtterance();
    this.#speechStarted = false;
    this.#lastPartial = "";
    this.#emit({ type: "final", speechFinal: atPause, ...final });
    if (final.words.length > 0) this.#lastEndMs = final.endMs;
    if (endpoint) {
      // Without words, the VAD's own estimate: it closes the utterance `postspeech` after speech ends.
      const atMs =
        final.words.length > 0 ? final.endMs : Math.max(this.#lastEndMs, this.#streamMs() - this.#postspeechMs);
      this.#emit({ type: "endpoint", atMs });
    }
  }

  #streamMs(): number {
    return Math.round(this.#samples / SAMPLES_PER_MS);
  }

  /** Words in stream ms, clamped into [last final's end, audio so far] and non-decreasing. */
  #transcript(text: string): TranscriptEvent {
    const limitMs = this.#streamMs();
    let floorMs = this.#lastEndMs;
    const offsetMs = this.#utteranceStartMs;
    const words = this.#live()
      .words()
      .map((word: DecodedWord) => {
        const startMs = Math.min(limitMs, Math.max(floorMs, offsetMs + word.startFrame * MS_PER_FRAME));
        const endMs = Math.min(limitMs, Math.max(startMs, offsetMs + (word.endFrame + 1) * MS_PER_FRAME));
        floorMs = endMs;
        return { word: word.word, startMs, endMs, confidence: word.confidence };
      });
    const first = words[0];
    const last = words.at(-1);
    const fallbackMs = Math.max(this.#lastEndMs, limitMs);
    return {
      text,
      startMs: first ? first.startMs : fallbackMs,
      endMs: last ? last.endMs : fallbackMs,
      words: this.#wordTimestamps ? words : [],
    };
  }
}
