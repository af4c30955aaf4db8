/**
 * @earshot/client for browsers: `globalThis.WebSocket`, the API key in the `token` subprotocol.
 * Imports nothing Node-only (checked by browser-entry.test.ts).
 */
import { EarshotClient as CoreClient, type EarshotClientCoreOptions } from "./client.js";
import { browserTransport, type TransportFactory } from "./transport.js";

export type EarshotClientOptions = Omit<EarshotClientCoreOptions, "transport"> & {
  /** Default: `browserTransport()` over `globalThis.WebSocket`. */
  readonly transport?: TransportFactory;
};

export class EarshotClient extends CoreClient {
  constructor(options: EarshotClientOptions) {
    super({ ...options, transport: options.transport ?? browserTransport() });
  }
}

export * from "./shared-exports.js";
