export { KeyRing, keyFromRequest, TOKEN_SUBPROTOCOL } from "./auth.js";
export { createLogger, silentLogger } from "./logger.js";
export { OverlapRemover } from "./overlap.js";
export {
  createServer,
  DEFAULT_LIMITS,
  type EarshotServer,
  type ListenOptions,
  type ServerOptions,
  STREAM_PATH,
} from "./server.js";
export type { SessionLimits } from "./session.js";
