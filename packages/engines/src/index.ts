export {
  ChildHost,
  exitWithParent,
  type ForkedHost,
  type HostShutdown,
  type StartChildOptions,
  startChildHost,
  startFailure,
} from "./child-host.js";
export { describeExit, OutputTail } from "./child-output.js";
export * from "./contract.js";
export { EventChannel } from "./event-channel.js";
export { awaitStart, type StartFailure, type StartHandlers, type StartReply } from "./host-start.js";
export {
  RemoteHost,
  type RemoteHostNames,
  type StreamHost,
  type StreamReply,
  type StreamRequest,
} from "./remote-host.js";
export { type DecodedEvent, RemoteStream, type StreamTransport, shiftEvent } from "./remote-stream.js";
export { RemoteStreams } from "./remote-streams.js";
export { EngineRouter } from "./router.js";
export { TestEngine, type TestEngineOptions } from "./testing/test-engine.js";
export { TEST_WORDS } from "./testing/test-engine-stream.js";
export { type PoolMember, WorkerPool, type WorkerPoolOptions } from "./worker-pool.js";
