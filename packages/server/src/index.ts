export { type AdmissionOptions, DEFAULT_ADMISSION } from "./admission.js";
export { credentialFromRequest, KeyRing, TOKEN_SUBPROTOCOL } from "./auth.js";
export { createLogger, silentLogger } from "./logger.js";
export { OverlapRemover } from "./overlap.js";
export {
  createServer,
  DEFAULT_LIMITS,
  DEFAULT_MAX_STREAMS_PER_KEY,
  type EarshotServer,
  type ListenOptions,
  type MetricsOptions,
  type ServerOptions,
  STREAM_PATH,
} from "./server.js";
export type { SessionLimits } from "./session.js";
export type { StaticAsset, StaticRoutes } from "./static-routes.js";
