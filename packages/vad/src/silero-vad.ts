/**
 * Silero VAD v6.2 (ONNX, MIT: models/silero_vad.onnx, see models/README.md) on onnxruntime-node.
 *
 * One model serves every stream. Each stream's `VadDetector` cuts its audio into 512-sample
 * windows (32 ms at 16 kHz) with the 64 samples before each window in front, as the reference
 * wrapper does (silero-vad `utils_vad.py`, `OnnxWrapper`), and keeps its own recurrent state. The
 * model stacks the next window of every stream that has one into a single batched inference, which
 * costs a fraction of one window at a time (docs/engines.md, "The voice-activity gate").
 * `run()` is asynchronous (onnxruntime's own thread), so the event loop only packs and unpacks
 * tensors while it runs.
 */

import { access, constants, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { EngineUnavailableError } from "@earshot/engines";

type Ort = typeof import("onnxruntime-node");
type Session = Awaited<ReturnType<Ort["InferenceSession"]["create"]>>;

export const VAD_SAMPLE_RATE = 16_000;
export const VAD_WINDOW_SAMPLES = 512;
const CONTEXT_SAMPLES = 64;
const INPUT_SAMPLES = CONTEXT_SAMPLES + VAD_WINDOW_SAMPLES;
const STATE_SIZE = 128;
/** Windows per inference at most; more waiting windows go in the next run. */
const MAX_BATCH = 256;
/** The shipped v6.2 file is 2,327,524 bytes; anything far smaller is not a Silero model. */
const MIN_MODEL_BYTES = 1_000_000;

export const DEFAULT_SILERO_MODEL_PATH = fileURLToPath(new URL("../models/silero_vad.onnx", import.meta.url));

/** A detector's recurrent state and context between two windows (JSON-serializable). */
export interface VadSnapshot {
  /** 2 × 128 floats: the model's recurrent state after the last scored window. */
  readonly state: readonly number[];
  /** The last 64 samples of that window, as floats in [-1, 1]. */
  readonly context: readonly number[];
}

/** Why `value` is not a `VadSnapshot`, or undefined if it is one. */
export function vadSnapshotProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "the VAD state is not an object";
  const { state, context } = value as { state?: unknown; context?: unknown };
  const finite = (values: unknown, length: number) =>
    Array.isArray(values) &&
    values.length === length &&
    values.every((v) => typeof v === "number" && Number.isFinite(v));
  if (!finite(state, 2 * STATE_SIZE)) return `the VAD state must be ${2 * STATE_SIZE} finite numbers`;
  if (!finite(context, CONTEXT_SAMPLES)) return `the VAD context must be ${CONTEXT_SAMPLES} finite numbers`;
  if (!(context as number[]).every((v) => v >= -1 && v <= 1)) return "the VAD context must be samples in [-1, 1]";
  return undefined;
}

/** Receives each window's speech probability, in order, with the stream sample just after the window. */
export type ProbabilityListener = (probability: number, endSample: number) => void;

export class SileroVad {
  readonly #ort: Ort;
  readonly #session: Session;
  readonly #sampleRate: import("onnxruntime-node").Tensor;
  readonly #waiting = new Set<VadDetector>();
  #running = false;
  #scheduled = false;
  #closed = false;

  private constructor(ort: Ort, session: Session) {
    this.#ort = ort;
    this.#session = session;
    this.#sampleRate = new ort.Tensor("int64", BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
  }

  /** Load the model; a missing, truncated or corrupt file is an `EngineUnavailableError` naming it. */
  static async load(path: string = DEFAULT_SILERO_MODEL_PATH): Promise<SileroVad> {
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new EngineUnavailableError(`Silero VAD model missing or unreadable: ${path}`);
    }
    const { size } = await stat(path);
    if (size < MIN_MODEL_BYTES) {
      throw new EngineUnavailableError(`Silero VAD model ${path} is ${size} bytes: truncated or not a Silero model`);
    }
    let ort: Ort;
    try {
      ort = await import("onnxruntime-node");
    } catch (error) {
      throw new EngineUnavailableError(`onnxruntime-node is not installed (needed for the Silero VAD): ${error}`);
    }
    let session: Session;
    try {
      session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        // onnxruntime's threads spin while they wait for work by default: on a 2-core machine that
        // took CPU from the decoders between the VAD's small inferences.
        extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
      });
    } catch (error) {
      throw new EngineUnavailableError(`Silero VAD model ${path} cannot be loaded: ${(error as Error).message}`);
    }
    const inputs = [...session.inputNames].sort().join(",");
    if (inputs !== "input,sr,state") {
      await session.release();
      throw new EngineUnavailableError(`${path} is not a Silero VAD v5/v6 model (inputs: ${inputs})`);
    }
    return new SileroVad(ort, session);
  }

  /** `from`: continue a detector's snapshot (taken between windows), on the same window grid. */
  createDetector(listener: ProbabilityListener, from?: VadSnapshot): VadDetector {
    if (this.#closed) throw new EngineUnavailableError("Silero VAD is closed");
    return new VadDetector(this, listener, from);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiting.clear();
    await this.#session.release();
  }

  /** A detector has a window waiting: run a batch soon, after the pushes of this tick have arrived. */
  enqueue(detector: VadDetector): void {
    this.#waiting.add(detector);
    if (this.#running || this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#runBatches();
    });
  }

  forget(detector: VadDetector): void {
    this.#waiting.delete(detector);
  }

  async #runBatches(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#waiting.size > 0 && !this.#closed) await this.#runBatch();
    } finally {
      this.#running = false;
    }
  }

  async #runBatch(): Promise<void> {
    const batch: VadDetector[] = [];
    for (const detector of this.#waiting) {
      if (batch.length === MAX_BATCH) break;
      batch.push(detector);
    }
    const size = batch.length;
    const input = new Float32Array(size * INPUT_SAMPLES);
    const state = new Float32Array(2 * size * STATE_SIZE);
    for (const [b, detector] of batch.entries()) detector.pack(input, state, b, size);
    const ort = this.#ort;
    let output: Float32Array;
    let nextState: Float32Array;
    try {
      const result = await this.#session.run({
        input: new ort.Tensor("float32", input, [size, INPUT_SAMPLES]),
        state: new ort.Tensor("float32", state, [2, size, STATE_SIZE]),
        sr: this.#sampleRate,
      });
      output = result.output?.data as Float32Array;
      nextState = result.stateN?.data as Float32Array;
    } catch (error) {
      for (const detector of batch) detector.fail(error as Error);
      return;
    }
    for (const [b, detector] of batch.entries()) {
      detector.unpack(output[b] ?? 0, nextState, b, size);
      if (detector.hasWindow) this.#waiting.add(detector);
      else this.#waiting.delete(detector);
    }
  }
}

/**
 * One stream's view of the VAD: its recurrent state, its 64-sample context, and the windows it has
 * not had scored yet. The queue grows only while inference falls behind; `pendingWindows` reports it.
 */
export class VadDetector {
  readonly #vad: SileroVad;
  readonly #listener: ProbabilityListener;
  readonly #state = new Float32Array(2 * STATE_SIZE);
  readonly #context = new Float32Array(CONTEXT_SAMPLES);
  /** Full windows waiting for inference, as floats. */
  readonly #windows: Float32Array[] = [];
  readonly #partial = new Float32Array(VAD_WINDOW_SAMPLES);
  #partialLength = 0;
  /** Stream sample just after the last window handed to the listener. */
  #scoredSample = 0;
  #closed = false;
  #failure: Error | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(vad: SileroVad, listener: ProbabilityListener, from?: VadSnapshot) {
    this.#vad = vad;
    this.#listener = listener;
    if (from) {
      this.#state.set(from.state);
      this.#context.set(from.context);
    }
  }

  /**
   * The state after the last scored window: taken in the listener, a detector created from it and
   * fed the audio after that window scores the rest exactly as this one does (same window grid).
   */
  snapshot(): VadSnapshot {
    return { state: Array.from(this.#state), context: Array.from(this.#context) };
  }

  get hasWindow(): boolean {
    return this.#windows.length > 0 && !this.#closed;
  }

  get pendingWindows(): number {
    return this.#windows.length;
  }

  /** The inference failed; later pushes are ignored and `idle()` rejects. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  push(pcm: Int16Array): void {
    if (this.#closed || this.#failure) return;
    let queued = false;
    for (let i = 0; i < pcm.length; i++) {
      this.#partial[this.#partialLength++] = (pcm[i] ?? 0) / 32768;
      if (this.#partialLength === VAD_WINDOW_SAMPLES) {
        this.#windows.push(this.#partial.slice());
        this.#partialLength = 0;
        queued = true;
      }
    }
    if (queued) this.#vad.enqueue(this);
  }

  /** Resolves once every full window pushed so far has been scored (or rejects if inference failed). */
  idle(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#windows.length === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): void {
    this.#closed = true;
    this.#windows.length = 0;
    this.#vad.forget(this);
    this.#wakeIdle();
  }

  /** Copy the next window (with context) and the state into batch slot `b` of `size`. */
  pack(input: Float32Array, state: Float32Array, b: number, size: number): void {
    const window = this.#windows[0];
    if (!window) return;
    input.set(this.#context, b * INPUT_SAMPLES);
    input.set(window, b * INPUT_SAMPLES + CONTEXT_SAMPLES);
    // state is [2, batch, 128]: layer l of slot b starts at (l * size + b) * 128.
    state.set(this.#state.subarray(0, STATE_SIZE), b * STATE_SIZE);
    state.set(this.#state.subarray(STATE_SIZE), (size + b) * STATE_SIZE);
  }

  /** Take slot `b`'s probability and next state; the window is scored. */
  unpack(probability: number, nextState: Float32Array, b: number, size: number): void {
    const window = this.#windows.shift();
    if (!window || this.#closed) return;
    this.#state.set(nextState.subarray(b * STATE_SIZE, (b + 1) * STATE_SIZE), 0);
    this.#state.set(nextState.subarray((size + b) * STATE_SIZE, (size + b + 1) * STATE_SIZE), STATE_SIZE);
    this.#context.set(window.subarray(VAD_WINDOW_SAMPLES - CONTEXT_SAMPLES));
    this.#scoredSample += VAD_WINDOW_SAMPLES;
    this.#listener(probability, this.#scoredSample);
    if (this.#windows.length === 0) this.#wakeIdle();
  }

  fail(error: Error): void {
    this.#failure = new EngineUnavailableError(`Silero VAD inference failed: ${error.message}`, { cause: error });
    this.#windows.length = 0;
    this.#vad.forget(this);
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
