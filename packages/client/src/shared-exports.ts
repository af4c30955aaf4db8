/** What both entries (Node and browser) export besides their `EarshotClient`. */
export {
  TranscriptAggregator,
  type TranscriptSegment,
  type TranscriptWord,
} from "./aggregator.js";
export type { AudioLoss } from "./audio-sender.js";
export { ChannelSplitter, type MultichannelInput, type MultichannelInputEncoding } from "./channel-splitter.js";
export { Chunker, type ChunkerOptions } from "./chunker.js";
export type {
  AudioLostEvent,
  ClientEvents,
  ClientState,
  ClientWarning,
  CloseResult,
  EarshotClientCoreOptions,
  StateChange,
} from "./client-types.js";
export type { TokenProvider } from "./credentials.js";
export { type Listener, TypedEmitter } from "./emitter.js";
export { type ClientErrorCode, type ClientOnlyErrorCode, EarshotClientError } from "./errors.js";
export type {
  ChannelTag,
  ChannelTranscriptMessage,
  MultichannelClientCoreOptions,
  MultichannelCloseResult,
  MultichannelEvents,
} from "./multichannel.js";
export { type ChannelSegment, type ChannelWord, MultichannelTranscript } from "./multichannel-transcript.js";
export {
  type AudioMode,
  CHUNKING_PRESETS,
  type Chunking,
  type ChunkingPreset,
  type ClientStreamConfig,
  STREAM_PATH,
  streamUrl,
} from "./options.js";
export type { PcmInput } from "./pcm-input.js";
export { Backoff, type BackoffOptions, type ReconnectOptions } from "./reconnect.js";
export { type EvictedRange, ReplayBuffer } from "./replay-buffer.js";
export { type MintOptions, mintStreamToken } from "./stream-token.js";
export {
  browserTransport,
  TOKEN_SUBPROTOCOL,
  type Transport,
  type TransportFactory,
  type TransportHandlers,
  type TransportRequest,
  type WebSocketConstructorLike,
  type WebSocketLike,
} from "./transport.js";
export { createWireEncoder, encodingAvailable, type WireEncoder } from "./wire-encoder.js";
