export * from "./contract.js";
export { EventChannel } from "./event-channel.js";
export { RemoteStream } from "./remote-stream.js";
export { RemoteStreams } from "./remote-streams.js";
export { EngineRouter } from "./router.js";
export { TEST_WORDS, TestEngine, type TestEngineOptions } from "./testing/test-engine.js";
