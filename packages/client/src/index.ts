/**
 * @earshot/client for Node: the `ws` transport, which sends the API key as `Authorization: Bearer`.
 */
import { EarshotClient as CoreClient, type EarshotClientCoreOptions } from "./client.js";
import { MultichannelClient as CoreMultichannelClient, type MultichannelClientCoreOptions } from "./multichannel.js";
import { nodeTransport } from "./node-transport.js";
import "./opus.js";
import type { TransportFactory } from "./transport.js";

export type EarshotClientOptions = Omit<EarshotClientCoreOptions, "transport"> & {
  /** Default: the `ws` transport. */
  readonly transport?: TransportFactory;
};

export class EarshotClient extends CoreClient {
  constructor(options: EarshotClientOptions) {
    super({ ...options, transport: options.transport ?? nodeTransport });
  }
}

export type MultichannelClientOptions = Omit<MultichannelClientCoreOptions, "transport"> & {
  /** Default: the `ws` transport. */
  readonly transport?: TransportFactory;
};

/** One stream per channel of interleaved audio; results tagged with `channel` and `speaker`. */
export class MultichannelClient extends CoreMultichannelClient {
  constructor(options: MultichannelClientOptions) {
    super({ ...options, transport: options.transport ?? nodeTransport });
  }
}

export * from "./shared-exports.js";
export { nodeTransport };
