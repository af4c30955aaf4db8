/**
 * The AudioWorklet processor behind `MicrophoneCapture`: runs on the audio rendering thread, takes
 * the microphone at the context's rate (48 kHz typically, any channel count), downmixes and
 * resamples it to 16 kHz mono PCM16 with @earshot/audio's polyphase resampler (the same filter as
 * the Node side), and posts 20 ms `Int16Array` chunks (their buffers transferred, not copied).
 *
 * Loaded with `audioContext.audioWorklet.addModule(url)`; its imports (`@earshot/audio/resample`,
 * `./capture-messages.js`) must resolve from that URL: `earshot serve` rewrites the bare specifier,
 * a bundler bundles it. Worklet scope has no window: this graph imports no DOM or Node APIs.
 */
import { Resampler } from "@earshot/audio/resample";
import { CAPTURE_CHUNK_SAMPLES, CAPTURE_PROCESSOR, STOP, STOPPED } from "./capture-messages.js";

// AudioWorkletGlobalScope, which TypeScript's DOM library does not describe.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

class CaptureProcessor extends AudioWorkletProcessor {
  readonly #resampler = new Resampler({ inputRate: sampleRate });
  #chunk = new Int16Array(CAPTURE_CHUNK_SAMPLES);
  #filled = 0;
  #stopped = false;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent) => {
      if (event.data !== STOP || this.#stopped) return;
      this.#stopped = true;
      this.#append(this.#resampler.flush());
      if (this.#filled > 0) this.#post(this.#chunk.slice(0, this.#filled));
      this.port.postMessage(STOPPED);
    };
  }

  /** Called for every 128-frame render quantum; returning false lets the node be collected. */
  process(inputs: Float32Array[][]): boolean {
    const channels = inputs[0];
    if (!this.#stopped && channels !== undefined && channels.length > 0) this.#append(this.#resampler.push(channels));
    return !this.#stopped;
  }

  #append(samples: Int16Array): void {
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(samples.length - at, CAPTURE_CHUNK_SAMPLES - this.#filled);
      this.#chunk.set(samples.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled === CAPTURE_CHUNK_SAMPLES) {
        this.#post(this.#chunk);
        this.#chunk = new Int16Array(CAPTURE_CHUNK_SAMPLES);
        this.#filled = 0;
      }
    }
  }

  #post(chunk: Int16Array): void {
    this.port.postMessage(chunk, [chunk.buffer]);
  }
}

registerProcessor(CAPTURE_PROCESSOR, CaptureProcessor);
