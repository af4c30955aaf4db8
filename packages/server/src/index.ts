export { ADMIN_DRAIN_PATH } from "./admin-route.js";
export { type AdmissionOptions, DEFAULT_ADMISSION } from "./admission.js";
export { credentialFromRequest, KeyRing, TOKEN_SUBPROTOCOL } from "./auth.js";
export { type ClusterOptions, DEFAULT_NODE_LEASE_MS } from "./cluster/cluster.js";
export { AAI_ERRORS, type AaiErrorCode } from "./compat/assemblyai/aai-errors.js";
export { AAI_TOKEN_RESULTS } from "./compat/assemblyai/aai-metrics.js";
export { IGNORED as AAI_IGNORED_PARAMS, REFUSED as AAI_REFUSED_PARAMS } from "./compat/assemblyai/aai-params.js";
export { AAI_TOKEN_PATH } from "./compat/assemblyai/aai-token-route.js";
export { AAI_STREAM_PATH, IGNORED_PARAMS_HEADER } from "./compat/assemblyai/aai-upgrade.js";
export {
  DEEPGRAM_CLOSE_ERRORS,
  DEEPGRAM_UPGRADE_ERRORS,
  type DeepgramCloseErrorCode,
  type DeepgramUpgradeErrorCode,
} from "./compat/deepgram/listen-errors.js";
export { LISTEN_PATH } from "./compat/deepgram/listen-upgrade.js";
export { OPENAI_ERRORS, type OpenAiErrorCode } from "./compat/openai/openai-errors.js";
export { TRANSCRIPTIONS_PATH } from "./compat/openai/transcriptions-route.js";
export { createLogger, silentLogger } from "./logger.js";
export { DEFAULT_DRAIN_TIMEOUT_MS, type DrainState } from "./node-drain.js";
export { OverlapRemover } from "./overlap.js";
export { createServer, type EarshotServer } from "./server.js";
export {
  DEFAULT_CONFIG_TIMEOUT_MS,
  DEFAULT_LIMITS,
  DEFAULT_MAX_STREAMS_PER_KEY,
  DEFAULT_MAX_UNCONFIGURED_PER_KEY,
  DEFAULT_MAX_WAITING_DECODERS_PER_KEY,
  type FileDecoder,
  type ListenOptions,
  type MetricsOptions,
  type ServerOptions,
} from "./server-options.js";
export type { ReleaseReason, SessionLimits } from "./session.js";
export type { StaticAsset, StaticRoutes } from "./static-routes.js";
export { availableMemoryBytes, MEMORY_RESERVE_BYTES, memoryMaxStreams, STREAM_MEMORY_SHARE } from "./stream-budget.js";
export { DEFAULT_BAND_EXTENSION_DB } from "./stream-config.js";
export { TWILIO_FAULTS, type TwilioFaultCode } from "./twilio/twilio-faults.js";
export type { TwilioOptions } from "./twilio/twilio-options.js";
export { twilioSignature, validTwilioSignature } from "./twilio/twilio-signature.js";
export { TWILIO_PATH } from "./twilio/twilio-upgrade.js";
export { STREAM_PATH } from "./upgrade.js";
