/**
 * @earshot/client for browsers: `globalThis.WebSocket`, the API key (better: a stream token) in the
 * `token` subprotocol, microphone capture through an AudioWorklet (`MicrophoneCapture`), and
 * `encoding: "opus"` through the browser's WebCodecs encoder where it has one.
 * Imports nothing Node-only (checked by browser-entry.test.ts).
 */
import { EarshotClient as CoreClient, type EarshotClientCoreOptions } from "./client.js";
import { MultichannelClient as CoreMultichannelClient, type MultichannelClientCoreOptions } from "./multichannel.js";
import { browserTransport, type TransportFactory } from "./transport.js";
import { registerNativeOpus } from "./webcodecs-opus.js";

registerNativeOpus();

export type EarshotClientOptions = Omit<EarshotClientCoreOptions, "transport"> & {
  /** Default: `browserTransport()` over `globalThis.WebSocket`. */
  readonly transport?: TransportFactory;
};

export class EarshotClient extends CoreClient {
  constructor(options: EarshotClientOptions) {
    super({ ...options, transport: options.transport ?? browserTransport() });
  }
}

export type MultichannelClientOptions = Omit<MultichannelClientCoreOptions, "transport"> & {
  /** Default: `browserTransport()` over `globalThis.WebSocket`. */
  readonly transport?: TransportFactory;
};

/** One stream per channel of interleaved audio; results tagged with `channel` and `speaker`. */
export class MultichannelClient extends CoreMultichannelClient {
  constructor(options: MultichannelClientOptions) {
    super({ ...options, transport: options.transport ?? browserTransport() });
  }
}

export { type CaptureErrorCode, EarshotCaptureError } from "./capture-errors.js";
export { MicrophoneCapture, type MicrophoneEvents, type MicrophoneInfo, type MicrophoneOptions } from "./microphone.js";
export * from "./shared-exports.js";
