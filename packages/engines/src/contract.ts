/**
 * The engine contract, after livekit/agents' STT + SpeechStream: an engine declares what it can do
 * and opens streams; a stream takes 16 kHz mono PCM16 and yields typed events. Times are integer
 * milliseconds from the start of the stream (sample 0 of the first `push`).
 */
import { defineError, SAMPLE_RATE } from "@earshot/protocol";

export interface EngineCapabilities {
  /** Decodes audio as it arrives (partials, finals at pauses); the server serves no other kind. */
  readonly streaming: boolean;
  /** Finals carry word timings; without them transcripts have no `words`, whatever the config asks. */
  readonly wordTimestamps: boolean;
  /** BCP-47 primary language subtags the engine can transcribe, e.g. `en`. */
  readonly languages: readonly string[];
  /** Model names a client may ask for; the first is the default. */
  readonly models: readonly string[];
  /** The sample rate `push` expects; the server serves only `SAMPLE_RATE` (16 kHz) engines. */
  readonly sampleRate: number;
  /**
   * Which languages each model serves, for engines whose models differ (a Mandarin model does not
   * take English). Omitted: every model serves every language in `languages`.
   */
  readonly modelLanguages?: Readonly<Record<string, readonly string[]>>;
  /**
   * Models the engine was configured with but cannot serve, each with why (a corrupt model's
   * `ModelInvalidError`): a stream asking for one is refused with that error's code.
   */
  readonly unavailableModels?: ReadonlyMap<string, Error>;
  /** Models that honour `StreamOptions.keyterms`; absent or empty: none does. */
  readonly keytermModels?: readonly string[];
}

export interface StreamOptions {
  readonly language: string;
  readonly model: string;
  readonly wordTimestamps: boolean;
  /**
   * Stream position, in samples, of the first pushed sample (default 0): a stream that continues
   * an earlier one (a new session after a server restart) reports times from the original start.
   */
  readonly startSample?: number;
  /**
   * Silence, in ms, after which an utterance ends with a final at the pause (`speechFinal`). Engines
   * that cannot honour it exactly use their nearest setting; undefined means the engine's default.
   */
  readonly endpointingMs?: number;
  /** Words and phrases to favour (only for models in `capabilities.keytermModels`). */
  readonly keyterms?: readonly string[];
  /**
   * A recording transcribed as fast as the engine goes (a file upload), not a live stream: an engine
   * that schedules decoding gives live streams' audio first, so files never delay live transcripts
   * (PocketSphinx: host.ts). Others decode it as any stream.
   */
  readonly batch?: boolean;
  /**
   * The audio is telephone audio (8 kHz G.711: a phone call) that the server upsampled to 16 kHz and
   * band-extended: an engine with an acoustic model adapted to that channel decodes this stream with
   * it (PocketSphinx: docs/telephony.md, "The telephone model"). Not set when the stream turned the
   * band extension off. Other engines ignore it.
   */
  readonly telephone?: boolean;
  /**
   * Continue a stream from one of its `checkpoint` events (possibly in another server process): the
   * new stream is fed the audio from `atSample` on and gives exactly the partials, finals and
   * endpoints the original gave after that checkpoint. `startSample`, if set, must equal `atSample`.
   * Engines that emit no checkpoints refuse it with `ResumeStateError`, as they do a state that
   * fails validation (never a crash).
   */
  readonly resumeFrom?: ResumePoint;
}

/** Where a stream can be continued: a `checkpoint` event's position and state. */
export interface ResumePoint {
  /** Stream-absolute sample (includes `startSample`) the continued stream's audio starts at. */
  readonly atSample: number;
  /** The engine's own state, JSON-serializable; opaque to everyone else. */
  readonly state: unknown;
}

export interface EngineWord {
  readonly word: string;
  readonly startMs: number;
  readonly endMs: number;
  /** 0..1 */
  readonly confidence: number;
}

export interface TranscriptEvent {
  readonly text: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly words: readonly EngineWord[];
}

export type EngineEvent =
  /** The best hypothesis so far for the utterance in progress; later partials may revise it. */
  | ({ readonly type: "partial" } & TranscriptEvent)
  /**
   * The settled text of one utterance, at a pause or after `flush()`. Text may be empty.
   * `speechFinal` is true when the utterance ended at a pause (an `endpoint` event follows), false
   * when it was cut by `flush()` / `end()` while the speaker may still be talking.
   */
  | ({ readonly type: "final"; readonly speechFinal: boolean } & TranscriptEvent)
  /** The speaker paused: speech ended at `atMs`. Follows the final it closed. */
  | { readonly type: "endpoint"; readonly atMs: number }
  /**
   * A point the stream can be continued from (`StreamOptions.resumeFrom`): a new stream opened with
   * `{ atSample, state }` and fed this stream's audio from stream sample `atSample` on gives exactly
   * the partials, finals and endpoints this one gives after this event. Comes after the final and
   * endpoint it follows. Only engines that can be continued emit it.
   */
  | ({ readonly type: "checkpoint" } & ResumePoint)
  /** Audio consumed so far and the CPU time spent on it. */
  | { readonly type: "usage"; readonly audioMs: number; readonly processingMs: number }
  /** The engine failed; the stream yields nothing after this. */
  | { readonly type: "error"; readonly error: Error };

export interface EngineStream extends AsyncIterable<EngineEvent> {
  /**
   * Audio pushed but not decoded yet, in ms: how far the decoder is behind. A server stops reading
   * a client's socket while this is high, so memory stays bounded when an engine falls behind.
   */
  readonly backlogMs: number;
  /** Queue 16 kHz mono PCM16 samples. Never blocks; decoding happens off the caller's thread. */
  push(pcm: Int16Array): void;
  /**
   * End the current utterance now: its final (if any speech) is emitted without waiting for the
   * engine's own pause detection. With `pause`, the caller has detected a pause (an external VAD):
   * the final is `speechFinal` and an `endpoint` event at `pause.atMs` follows it, even without speech.
   */
  flush(pause?: { readonly atMs: number }): void;
  /** No more audio: emit the last final, then end the event iteration. */
  end(): Promise<void>;
  /** Stop at once and free the decoder; pending events are dropped. Idempotent. */
  close(): void;
  /**
   * Give back any decoder the stream holds while no audio comes (its client is reconnecting). The
   * stream goes on exactly where it was once audio, a flush or the end comes: its transcript does
   * not change. Engines that cannot leave it out; the server then closes the stream and opens a
   * fresh one at the end of the last final, whose words may differ (decoder state starts over).
   */
  suspend?(): void;
}

/** How loaded an engine is now, for admission control and metrics. */
export interface EngineLoad {
  /** Streams open now. */
  readonly streams: number;
  /** Fraction (0..1) of the engine's decoding capacity busy over the last few seconds. */
  readonly utilization: number;
  /** Threads the engine decodes on, so `utilization × threads` is its demand in cores (omitted: all cores). */
  readonly threads?: number;
  /** What one more stream is expected to need, in cores, for streams accepted but not opened yet. */
  readonly streamDemand?: number;
  /** The largest backlog of any open stream, in ms of audio not decoded yet. */
  readonly maxBacklogMs: number;
  /** Engines that lend decoders per utterance from warm pools: their counts, for metrics. */
  readonly decoders?: DecoderPoolLoad;
}

/** A decoder pool's counts (`EngineLoad.decoders`). */
export interface DecoderPoolLoad {
  /** Decoders that exist: free plus lent. */
  readonly size: number;
  readonly free: number;
  /** Lent to utterances in progress. */
  readonly lent: number;
  /** Utterances waiting for a decoder (their audio queued). */
  readonly waiting: number;
  /** Decoders made, by when: at start-up, in the background, on a stream's connect path (kept 0). */
  readonly created: { readonly startup: number; readonly background: number; readonly connect: number };
  /** Borrows that found no decoder free and waited. */
  readonly waits: number;
  /** Decoders freed (idle beyond the warm ones, or failed). */
  readonly destroyed: number;
}

export interface Engine extends AsyncDisposable {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  /** True once `load()` has succeeded and the engine can open streams. */
  readonly ready: boolean;
  /** Load models; rejects with an `EngineUnavailableError` when they are missing or broken. */
  load(): Promise<void>;
  /** Open a stream; rejects with `EngineUnavailableError` when no decoder can be had. */
  openStream(options: StreamOptions): Promise<EngineStream>;
  /** The engine's load now; engines that cannot measure it leave this out. */
  loadSnapshot?(): EngineLoad;
  /**
   * Memory one open stream holds (its decoder), in bytes: the server derives its default stream
   * limit from it and the machine's memory. Engines whose streams cost little leave it out.
   */
  readonly streamMemoryBytes?: number | undefined;
  close(): Promise<void>;
}

/** The engine cannot serve: model missing or corrupt, native library absent, worker crashed. */
export class EngineUnavailableError extends defineError("EngineUnavailableError", "engine_unavailable") {}

/**
 * `StreamOptions.resumeFrom` cannot be honoured: the engine cannot continue streams, or the state
 * is not one of its checkpoints (wrong shape, another engine's, values out of range).
 */
export class ResumeStateError extends defineError("ResumeStateError", "invalid_resume_state") {}

/** Refuses `resumeFrom` for an engine that cannot continue streams. */
export function refuseResume(engineName: string, options: StreamOptions): void {
  if (options.resumeFrom !== undefined) {
    throw new ResumeStateError(`the ${engineName} engine cannot continue a stream from a checkpoint`);
  }
}

/** The engine cannot be served at all: it is not a streaming engine, or takes another sample rate. */
export class EngineIncompatibleError extends defineError("EngineIncompatibleError", "engine_incompatible") {}

/**
 * Throws `EngineIncompatibleError` for an engine the server cannot drive: streams carry
 * `SAMPLE_RATE` PCM and want transcripts while the audio flows.
 */
export function assertServableEngine(engine: Engine): void {
  const { streaming, sampleRate } = engine.capabilities;
  if (!streaming) {
    throw new EngineIncompatibleError(`engine "${engine.name}" is not a streaming engine; earshot serves only those`);
  }
  if (sampleRate !== SAMPLE_RATE) {
    throw new EngineIncompatibleError(
      `engine "${engine.name}" takes ${sampleRate} Hz audio; earshot streams ${SAMPLE_RATE} Hz (resample inside the engine)`,
    );
  }
}
