/**
 * Microphone capture in the browser: `getUserMedia` (with a device choice) into an AudioWorklet
 * (capture-worklet.ts) that resamples to 16 kHz mono PCM16 off the main thread, so the page gets
 * `audio` events ready for `EarshotClient.send()`. No ScriptProcessorNode (deprecated, and it runs
 * on the main thread, where any busy moment drops audio).
 *
 * Failures are `EarshotCaptureError`s: before capture (`start()` rejects: unsupported browser,
 * insecure context, permission, device) and during it (`error` event: `device_lost` when the
 * track ends, after which capture is stopped).
 */
import { captureErrorFrom, EarshotCaptureError } from "./capture-errors.js";
import { CAPTURE_PROCESSOR, STOP, STOPPED } from "./capture-messages.js";
import { TypedEmitter } from "./emitter.js";

export interface MicrophoneOptions {
  /** A `deviceId` from `MicrophoneCapture.devices()`; default: the browser's default microphone. */
  readonly deviceId?: string;
  /**
   * Where the worklet module is served. Default: `capture-worklet.js` next to this module (right
   * when the SDK's dist files are served as they are, as `earshot serve` does); a bundler needs
   * the URL of its own build of `@earshot/client/capture-worklet`.
   */
  readonly workletUrl?: string | URL;
  /** Browser echo cancellation, noise suppression and gain control (default true). */
  readonly processing?: boolean;
}

export interface MicrophoneInfo {
  readonly deviceId: string;
  /** Empty until the page has had microphone permission once (browsers hide labels before). */
  readonly label: string;
}

export type MicrophoneEvents = {
  /** 16 kHz mono PCM16, 20 ms per event. */
  audio: Int16Array;
  /** Capture failed while running (`device_lost`); capture has stopped. */
  error: EarshotCaptureError;
  /** Capture stopped (by `stop()` or after an error); no more `audio`. */
  ended: undefined;
};

/** How long `stop()` waits for the worklet's last samples. */
const STOP_TIMEOUT_MS = 500;

export class MicrophoneCapture extends TypedEmitter<MicrophoneEvents> {
  /** The device actually opened, and the rate the browser captures at (before resampling). */
  readonly device: MicrophoneInfo;
  readonly inputSampleRate: number;
  readonly #stream: MediaStream;
  readonly #context: AudioContext;
  readonly #node: AudioWorkletNode;
  #stopping: Promise<void> | undefined;

  private constructor(stream: MediaStream, context: AudioContext, node: AudioWorkletNode) {
    super();
    this.#stream = stream;
    this.#context = context;
    this.#node = node;
    this.inputSampleRate = context.sampleRate;
    const track = stream.getAudioTracks()[0];
    this.device = { deviceId: track?.getSettings().deviceId ?? "", label: track?.label ?? "" };
    node.port.onmessage = (event: MessageEvent) => {
      if (event.data instanceof Int16Array) this.emit("audio", event.data);
    };
    track?.addEventListener("ended", () => {
      if (this.#stopping) return;
      this.emit("error", new EarshotCaptureError("device_lost", `The microphone "${this.device.label}" went away.`));
      void this.stop();
    });
  }

  /** Why this browser cannot capture (undefined when it can). */
  static unsupported(): EarshotCaptureError | undefined {
    if (globalThis.isSecureContext === false) {
      return new EarshotCaptureError("insecure_context", "The microphone needs a secure page: HTTPS, or localhost.");
    }
    if (typeof navigator === "undefined" || typeof navigator.mediaDevices?.getUserMedia !== "function") {
      return new EarshotCaptureError("unsupported", "This browser cannot capture audio (no getUserMedia).");
    }
    if (typeof AudioWorkletNode === "undefined") {
      return new EarshotCaptureError("unsupported", "This browser has no AudioWorklet.");
    }
    return undefined;
  }

  /** The microphones; labels are empty until permission was given once. */
  static async devices(): Promise<MicrophoneInfo[]> {
    const refused = MicrophoneCapture.unsupported();
    if (refused) throw refused;
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === "audioinput").map((d) => ({ deviceId: d.deviceId, label: d.label }));
  }

  /**
   * Asks for the microphone (the browser may prompt), starts the worklet. Call it from a user
   * gesture (a click): browsers keep an AudioContext created without one suspended.
   */
  static async start(options: MicrophoneOptions = {}): Promise<MicrophoneCapture> {
    const refused = MicrophoneCapture.unsupported();
    if (refused) throw refused;
    const processing = options.processing ?? true;
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          ...(options.deviceId ? { deviceId: { exact: options.deviceId } } : {}),
          channelCount: 1,
          echoCancellation: processing,
          noiseSuppression: processing,
          autoGainControl: processing,
        },
      });
    } catch (error) {
      throw captureErrorFrom(error);
    }
    const context = new AudioContext({ latencyHint: "interactive" });
    try {
      await context.audioWorklet.addModule(options.workletUrl ?? new URL("./capture-worklet.js", import.meta.url));
    } catch (error) {
      for (const track of stream.getTracks()) track.stop();
      await context.close();
      throw new EarshotCaptureError("worklet_failed", `The capture worklet did not load: ${String(error)}`, {
        cause: error,
      });
    }
    // No outputs: the node is a sink, processed without being wired to the speakers.
    const node = new AudioWorkletNode(context, CAPTURE_PROCESSOR, { numberOfInputs: 1, numberOfOutputs: 0 });
    context.createMediaStreamSource(stream).connect(node);
    await context.resume();
    return new MicrophoneCapture(stream, context, node);
  }

  /** Stops capture: the last samples arrive as `audio`, then `ended`. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const track of this.#stream.getTracks()) track.stop();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
        this.#node.port.addEventListener("message", (event: MessageEvent) => {
          if (event.data !== STOPPED) return;
          clearTimeout(timer);
          resolve();
        });
        this.#node.port.postMessage(STOP);
      });
      this.#node.disconnect();
      await this.#context.close();
      this.emit("ended", undefined);
    })();
    return this.#stopping;
  }
}
