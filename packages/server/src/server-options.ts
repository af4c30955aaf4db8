/**
 * What `createServer` takes, its defaults, and the settings it runs with once they are applied.
 */

import type { Engine } from "@earshot/engines";
import { MAX_BAND_EXTENSION_DB, MIN_BAND_EXTENSION_DB } from "@earshot/protocol";
import type { Logger } from "pino";
import type { AdmissionOptions } from "./admission.js";
import type { ClusterOptions } from "./cluster/cluster.js";
import { DEFAULT_DRAIN_TIMEOUT_MS } from "./node-drain.js";
import type { SessionLimits } from "./session.js";
import type { StaticRoutes } from "./static-routes.js";
import { DEFAULT_STREAM_DEFAULTS, type StreamDefaults } from "./stream-config.js";
import { DEFAULT_MAX_TOKENS_PER_KEY } from "./stream-tokens.js";
import type { TwilioOptions } from "./twilio/twilio-options.js";

/** An uploaded audio file that is not WAV, as 16 kHz mono PCM16; rejects when it is not audio it can decode. */
export type FileDecoder = (bytes: Uint8Array) => Promise<Int16Array>;

export interface ServerOptions extends Partial<SessionLimits> {
  readonly engine: Engine;
  readonly apiKeys: readonly string[];
  readonly logger?: Logger;
  /**
   * Decodes uploads that are not WAV (or a WAV encoding earshot does not read) for OpenAI's
   * `POST /v1/audio/transcriptions`. Without one they are refused with 415; `earshot serve` passes
   * its ffmpeg decoder when ffmpeg is installed.
   */
  readonly fileDecoder?: FileDecoder;
  /** The largest file `POST /v1/audio/transcriptions` takes (default 25 MiB, OpenAI's); larger is 413. */
  readonly maxUploadBytes?: number;
  /**
   * Open connections one key may have (default 64); more are refused with 429 `too_many_streams`.
   * Also the most sessions of a key waiting for a resume (beyond, the oldest ends), and the most
   * decoders its sessions hold (beyond, its waiting sessions give theirs back first).
   */
  readonly maxStreamsPerKey?: number;
  /** Connections of one key that have not sent `config` (or `resume`) yet (default 32); more get 429. */
  readonly maxUnconfiguredPerKey?: number;
  /** A connection that sends no valid `config` (or `resume`) this soon is closed with `config_timeout` (default 5000). */
  readonly configTimeoutMs?: number;
  /** Sessions of one key waiting for a resume that may keep their decoders (default 4); the oldest beyond release theirs. */
  readonly maxWaitingDecodersPerKey?: number;
  /** Unused, unexpired stream tokens one key may hold (default 1000); more get 429 `too_many_tokens`. */
  readonly maxTokensPerKey?: number;
  /**
   * When new streams are refused with 503 `over_capacity` (see `AdmissionOptions`). Without
   * `maxStreams`, the limit is what fits in memory when the engine declares `streamMemoryBytes`
   * (stream-budget.ts).
   */
  readonly admission?: AdmissionOptions;
  /** Cores the server may use, for its utilization (default: the machine's, `os.availableParallelism()`). */
  readonly cores?: number;
  /** `GET /metrics`. Default: served, without auth, with process metrics. */
  readonly metrics?: MetricsOptions;
  /** Server pings every connection this often (default 2000 ms)... */
  readonly pingIntervalMs?: number;
  /** ...and drops one that has not answered for this long (default 5000 ms). */
  readonly livenessTimeoutMs?: number;
  /** On close(), how long open streams may take to send their last finals (default 2000 ms). */
  readonly shutdownFlushMs?: number;
  /**
   * On drain() (node-drain.ts), how long streams may take to reach their next utterance end before
   * they are moved mid-utterance (default 30 000 ms).
   */
  readonly drainTimeoutMs?: number;
  /**
   * The admin key: `POST /v1/admin/drain` (and `GET`, its state) need `Authorization: Bearer <it>`
   * (docs/security.md). Without one the admin routes answer 404.
   */
  readonly adminKey?: string;
  /** Fixed files served without auth (the demo page: `earshot serve`); default none. */
  readonly staticRoutes?: StaticRoutes;
  /**
   * Band extension for 8 kHz encodings (G.711) when a stream's config does not set
   * `band_extension_db`: the image's gain in dB (−60..0), or "off". Default
   * `DEFAULT_BAND_EXTENSION_DB` (0, measured with PocketSphinx: docs/telephony.md).
   */
  readonly bandExtensionDb?: number | "off";
  /** Phone calls: Twilio media streams (`/v1/twilio/media-stream`) and call events (docs/telephony.md). */
  readonly twilio?: TwilioOptions;
  /**
   * Join a cluster through Redis (docs/operations.md "Running several nodes"): stream tokens and
   * per-key stream counts shared across nodes, heartbeats, session records. Default: alone.
   */
  readonly cluster?: ClusterOptions;
}

export interface MetricsOptions {
  /** Serve `GET /metrics` (default true). */
  readonly enabled?: boolean;
  /** Require `Authorization: Bearer <token>` on `/metrics` (default: no auth). */
  readonly bearerToken?: string;
  /** Add the process metrics (CPU, memory, event loop, GC) to the scrape (default true). */
  readonly processMetrics?: boolean;
}

export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  maxFrameBytes: 1024 * 1024,
  maxSessionMs: 4 * 60 * 60 * 1000,
  maxPendingMs: 30_000,
  resumeGraceMs: 30_000,
  holdDecoderMs: 5_000,
  maxEngineBacklogMs: 10_000,
  maxUtteranceMs: 30_000,
  maxOutboundBytes: 1024 * 1024,
};
export const DEFAULT_MAX_STREAMS_PER_KEY = 64;
/**
 * A call centre's tenant opens many calls at once at opening hour: their upgrades all land before
 * any `config` is read, so this must hold a burst (with 8, a crowd of 24 from one key got 429s).
 */
export const DEFAULT_MAX_UNCONFIGURED_PER_KEY = 32;
export const DEFAULT_CONFIG_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_WAITING_DECODERS_PER_KEY = 4;
const DEFAULT_PING_INTERVAL_MS = 2000;
const DEFAULT_LIVENESS_TIMEOUT_MS = 5000;
const DEFAULT_SHUTDOWN_FLUSH_MS = 2000;

/** The per-key and per-connection numbers in force: the options, or their defaults. */
export interface ServerSettings {
  readonly limits: SessionLimits;
  readonly maxStreamsPerKey: number;
  readonly maxUnconfiguredPerKey: number;
  readonly maxWaitingDecodersPerKey: number;
  readonly maxTokensPerKey: number;
  readonly configTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly livenessTimeoutMs: number;
  readonly shutdownFlushMs: number;
  readonly drainTimeoutMs: number;
  readonly streamDefaults: StreamDefaults;
}

export function resolveSettings(options: ServerOptions): ServerSettings {
  return {
    limits: {
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes,
      maxSessionMs: options.maxSessionMs ?? DEFAULT_LIMITS.maxSessionMs,
      maxPendingMs: options.maxPendingMs ?? DEFAULT_LIMITS.maxPendingMs,
      resumeGraceMs: options.resumeGraceMs ?? DEFAULT_LIMITS.resumeGraceMs,
      holdDecoderMs: options.holdDecoderMs ?? DEFAULT_LIMITS.holdDecoderMs,
      maxEngineBacklogMs: options.maxEngineBacklogMs ?? DEFAULT_LIMITS.maxEngineBacklogMs,
      maxUtteranceMs: options.maxUtteranceMs ?? DEFAULT_LIMITS.maxUtteranceMs,
      maxOutboundBytes: options.maxOutboundBytes ?? DEFAULT_LIMITS.maxOutboundBytes,
    },
    maxStreamsPerKey: options.maxStreamsPerKey ?? DEFAULT_MAX_STREAMS_PER_KEY,
    maxUnconfiguredPerKey: options.maxUnconfiguredPerKey ?? DEFAULT_MAX_UNCONFIGURED_PER_KEY,
    maxWaitingDecodersPerKey: options.maxWaitingDecodersPerKey ?? DEFAULT_MAX_WAITING_DECODERS_PER_KEY,
    maxTokensPerKey: options.maxTokensPerKey ?? DEFAULT_MAX_TOKENS_PER_KEY,
    configTimeoutMs: options.configTimeoutMs ?? DEFAULT_CONFIG_TIMEOUT_MS,
    pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    livenessTimeoutMs: options.livenessTimeoutMs ?? DEFAULT_LIVENESS_TIMEOUT_MS,
    shutdownFlushMs: options.shutdownFlushMs ?? DEFAULT_SHUTDOWN_FLUSH_MS,
    drainTimeoutMs: options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    streamDefaults: { bandExtensionDb: bandExtensionDb(options) },
  };
}

function bandExtensionDb(options: ServerOptions): number | "off" {
  const value = options.bandExtensionDb ?? DEFAULT_STREAM_DEFAULTS.bandExtensionDb;
  if (value !== "off" && !(value >= MIN_BAND_EXTENSION_DB && value <= MAX_BAND_EXTENSION_DB)) {
    throw new RangeError(
      `bandExtensionDb must be ${MIN_BAND_EXTENSION_DB}..${MAX_BAND_EXTENSION_DB} or "off", got ${value}.`,
    );
  }
  return value;
}
