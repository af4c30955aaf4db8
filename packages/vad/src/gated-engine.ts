/**
 * An engine behind a voice-activity gate: Silero VAD decides where utterances start and end, and
 * only speech (plus a short pre-roll, so the decoder hears each onset) reaches the inner engine.
 * Call-centre audio is mostly silence, and silence now costs a VAD window (~50 µs per 32 ms)
 * instead of a decoder pass. The gate also closes utterances: `endpointingMs` of silence after
 * speech flushes the inner stream with `flush({ atMs })`, which yields a speech final (if the
 * utterance is still open) and the endpoint. An inner engine may end utterances sooner at its own
 * shorter pauses (PocketSphinx's own VAD does, after 200 ms); its endpoints are dropped, so every
 * endpoint comes from the gate, once per pause.
 *
 * The inner stream sees a compressed timeline (silence cut out); `TimeMap` maps its times back, so
 * every time this engine reports is stream-absolute, as the contract requires.
 */

import type {
  Engine,
  EngineCapabilities,
  EngineEvent,
  EngineLoad,
  EngineStream,
  StreamOptions,
} from "@earshot/engines";
import { EventChannel, ResumeStateError } from "@earshot/engines";
import { SAMPLES_PER_MS } from "@earshot/protocol";
import { type GateCheckpoint, parseGateCheckpoint } from "./gate-checkpoint.js";
import { SampleQueue } from "./sample-queue.js";
import { SileroVad, VAD_SAMPLE_RATE, type VadDetector, type VadSnapshot } from "./silero-vad.js";
import { SpeechGate } from "./speech-gate.js";
import { TimeMap } from "./time-map.js";

export interface VadGateOptions {
  /** Silence after speech that ends an utterance when a stream does not set its own; default 200. */
  readonly endpointingMs?: number;
  /** Speech probability threshold, default 0.5 (silero's). */
  readonly threshold?: number;
  /** Audio before each detected onset that is decoded too, so the onset itself is heard; default 300. */
  readonly preRollMs?: number;
  /** Path of silero_vad.onnx; default the copy shipped in this package. */
  readonly modelPath?: string;
}

/**
 * 200 ms: where PocketSphinx's own VAD does not end an utterance, finals wait for the gate, and
 * 300 ms cost more latency than it bought accuracy (docs/engines.md, "Endpointing and frame size
 * under load").
 */
export const DEFAULT_ENDPOINTING_MS = 200;

export class VadGatedEngine implements Engine {
  readonly inner: Engine;
  readonly #options: Required<Omit<VadGateOptions, "modelPath">> & { readonly modelPath: string | undefined };
  #vad: SileroVad | undefined;

  constructor(inner: Engine, options: VadGateOptions = {}) {
    this.inner = inner;
    this.#options = {
      endpointingMs: options.endpointingMs ?? DEFAULT_ENDPOINTING_MS,
      threshold: options.threshold ?? 0.5,
      preRollMs: options.preRollMs ?? 300,
      modelPath: options.modelPath,
    };
  }

  get name(): string {
    return this.inner.name;
  }

  get capabilities(): EngineCapabilities {
    return this.inner.capabilities;
  }

  get ready(): boolean {
    return this.inner.ready && this.#vad !== undefined;
  }

  get streamMemoryBytes(): number | undefined {
    return this.inner.streamMemoryBytes;
  }

  async load(): Promise<void> {
    const [vad] = await Promise.all([this.#vad ?? SileroVad.load(this.#options.modelPath), this.inner.load()]);
    this.#vad = vad;
  }

  async openStream(options: StreamOptions): Promise<EngineStream> {
    const vad = this.#vad;
    if (!vad) return this.inner.openStream(options);
    const { startSample: _start, endpointingMs: _endpointing, resumeFrom, ...innerOptions } = options;
    const from = resumeFrom === undefined ? undefined : parseGateCheckpoint(resumeFrom.state);
    if (resumeFrom && (!Number.isSafeInteger(resumeFrom.atSample) || resumeFrom.atSample < 0)) {
      throw new ResumeStateError(`resume point ${resumeFrom.atSample} is not a sample position`);
    }
    if (resumeFrom && options.startSample !== undefined && options.startSample !== resumeFrom.atSample) {
      throw new ResumeStateError(`a stream resumed at sample ${resumeFrom.atSample} must start there`);
    }
    const inner = await this.inner.openStream(from ? { ...innerOptions, resumeFrom: from.inner } : innerOptions);
    const gate = new SpeechGate({
      threshold: this.#options.threshold,
      endpointingMs: options.endpointingMs ?? this.#options.endpointingMs,
      sampleRate: VAD_SAMPLE_RATE,
    });
    return new GatedStream(inner, vad, gate, {
      startSample: resumeFrom?.atSample ?? options.startSample ?? 0,
      preRollSamples: Math.round(this.#options.preRollMs * SAMPLES_PER_MS),
      from,
    });
  }

  loadSnapshot(): EngineLoad {
    return this.inner.loadSnapshot?.() ?? { streams: 0, utilization: 0, maxBacklogMs: 0 };
  }

  async close(): Promise<void> {
    const vad = this.#vad;
    this.#vad = undefined;
    await Promise.all([vad?.close(), this.inner.close()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

class GatedStream implements EngineStream {
  readonly #inner: EngineStream;
  readonly #detector: VadDetector;
  readonly #gate: SpeechGate;
  readonly #preRollSamples: number;
  readonly #events = new EventChannel<EngineEvent>();
  readonly #held = new SampleQueue();
  readonly #map: TimeMap;
  /** Endpoints this side asked for, by the inner-timeline `atMs` it passed, with their stream time. */
  readonly #pauses: Array<{ readonly innerAtMs: number; readonly atMs: number }> = [];
  /**
   * The gate's state at each endpoint that flushed the inner stream, by the inner position of that
   * flush, until the inner stream's checkpoint for it arrives (then it is emitted with it).
   */
  readonly #checkpoints: Array<{
    readonly innerSample: number;
    readonly endSample: number;
    readonly vad: VadSnapshot;
  }> = [];
  readonly #startSample: number;
  #received = 0;
  #closed = false;
  /** The gate holds no decoder; present when the inner stream can give back its own. */
  readonly suspend?: () => void;

  constructor(
    inner: EngineStream,
    vad: SileroVad,
    gate: SpeechGate,
    options: {
      readonly startSample: number;
      readonly preRollSamples: number;
      readonly from: GateCheckpoint | undefined;
    },
  ) {
    this.#inner = inner;
    this.#gate = gate;
    this.#startSample = options.startSample;
    this.#preRollSamples = options.preRollSamples;
    this.#map = new TimeMap(options.startSample, SAMPLES_PER_MS, options.from?.inner.atSample ?? 0);
    this.#detector = vad.createDetector(
      (probability, endSample) => this.#decide(probability, endSample),
      options.from?.vad,
    );
    if (inner.suspend) this.suspend = () => inner.suspend?.();
    void this.#relay();
  }

  get backlogMs(): number {
    return this.#inner.backlogMs + (this.#held.end - this.#held.start) / SAMPLES_PER_MS;
  }

  push(pcm: Int16Array): void {
    if (this.#closed || pcm.length === 0) return;
    // The caller may reuse its buffer; the held copy waits for the VAD.
    const copy = pcm.slice();
    this.#held.push(copy);
    this.#received += copy.length;
    this.#detector.push(copy);
    if (this.#detector.failure) this.#fail(this.#detector.failure);
  }

  flush(pause?: { readonly atMs: number }): void {
    if (this.#closed) return;
    if (this.#gate.inSpeech) this.#forward(this.#held.end);
    this.#inner.flush(pause ? this.#pause(pause.atMs) : undefined);
  }

  async end(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#detector.idle();
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    // The last part-window was never scored: decode it if the speaker was still talking.
    if (this.#gate.inSpeech) this.#forward(this.#held.end);
    this.#detector.close();
    await this.#inner.end();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detector.close();
    this.#inner.close();
    this.#events.clear();
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  /** A scored window: audio up to `endSample` is now decided. */
  #decide(probability: number, endSample: number): void {
    if (this.#closed) return;
    const decision = this.#gate.observe(probability, endSample);
    if (decision?.type === "onset") {
      this.#held.drop(decision.atSample - this.#preRollSamples);
      this.#forward(endSample);
    } else if (decision?.type === "endpoint") {
      this.#forward(endSample);
      // A caller's flush mid-utterance may have forwarded audio past the window: no exact state then.
      if (this.#held.start === endSample) {
        const vad = this.#detector.snapshot();
        this.#checkpoints.push({ innerSample: this.#map.innerSamples, endSample, vad });
      }
      this.#inner.flush(this.#pause(this.#map.streamMs(decision.speechEndSample)));
    } else if (this.#gate.inSpeech) {
      this.#forward(endSample);
    } else {
      this.#held.drop(endSample - this.#preRollSamples);
    }
  }

  #forward(until: number): void {
    const from = this.#held.start;
    const chunks = this.#held.take(until);
    if (chunks.length === 0) return;
    let at = from;
    for (const chunk of chunks) {
      this.#inner.push(chunk);
      this.#map.forwarded(at, chunk.length);
      at += chunk.length;
    }
  }

  /** Register a pause at stream `atMs`; returns what the inner stream is told. */
  #pause(atMs: number): { readonly atMs: number } {
    const innerAtMs = this.#map.innerMs();
    this.#pauses.push({ innerAtMs, atMs });
    return { atMs: innerAtMs };
  }

  async #relay(): Promise<void> {
    try {
      for await (const event of this.#inner) {
        if (event.type === "endpoint") {
          // Only the gate's own pauses end utterances; the inner engine's endpointing is not used.
          const index = this.#pauses.findIndex((pause) => pause.innerAtMs === event.atMs);
          if (index < 0) continue;
          const [pause] = this.#pauses.splice(index, 1);
          if (pause) this.#events.push({ type: "endpoint", atMs: pause.atMs });
        } else if (event.type === "checkpoint") {
          this.#checkpointed(event.atSample, event.state);
        } else if (event.type === "usage") {
          this.#events.push({ ...event, audioMs: Math.round(this.#received / SAMPLES_PER_MS) });
        } else {
          this.#events.push(this.#map.event(event));
        }
      }
    } catch (error) {
      this.#events.push({ type: "error", error: error as Error });
    }
    this.#events.end();
  }

  /**
   * The inner stream's checkpoint after a flush: if the gate flushed it at an endpoint, the stream
   * can be continued from that endpoint sample (gate-checkpoint.ts); other flushes (the caller's)
   * give no checkpoint.
   */
  #checkpointed(innerSample: number, innerState: unknown): void {
    while (this.#checkpoints.length > 0 && (this.#checkpoints[0]?.innerSample ?? 0) < innerSample) {
      this.#checkpoints.shift();
    }
    const taken = this.#checkpoints[0];
    if (!taken || taken.innerSample !== innerSample) return;
    this.#checkpoints.shift();
    const state: GateCheckpoint = { inner: { atSample: innerSample, state: innerState }, vad: taken.vad };
    this.#events.push({ type: "checkpoint", atSample: this.#startSample + taken.endSample, state });
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#events.push({ type: "error", error });
    this.#events.end();
    this.#closed = true;
    this.#detector.close();
    this.#inner.close();
  }
}
