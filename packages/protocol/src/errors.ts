/**
 * The one place where earshot's error codes live. `docs/errors.md` is checked against this table by
 * a test (`errors.test.ts`), so a code added here must be documented there too.
 */

/** WebSocket close codes the server uses, with the reason a client can act on. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export interface ErrorSpec {
  /** Human-readable summary, used when the server has nothing more specific to say. */
  readonly summary: string;
  /** Whether sending the same thing again later can succeed. */
  readonly retryable: boolean;
  /** The close code when this error ends the connection; absent when the connection stays open. */
  readonly close?: CloseCode;
  /** HTTP status when the error is given at the WebSocket upgrade instead of as a message. */
  readonly httpStatus?: number;
}

export const ERRORS = {
  unauthorized: {
    summary: "Missing or invalid API key.",
    retryable: false,
    httpStatus: 401,
  },
  invalid_token: {
    summary: "The stream token is unknown, expired, or already used by another stream.",
    retryable: false,
    httpStatus: 401,
  },
  invalid_signature: {
    summary: "The Twilio request signature (`X-Twilio-Signature`) does not match this server's Twilio auth token.",
    retryable: false,
    httpStatus: 403,
  },
  too_many_tokens: {
    summary: "This API key has as many unused stream tokens as the server keeps; use or let some expire.",
    retryable: true,
    httpStatus: 429,
  },
  not_found: {
    summary: "No such endpoint.",
    retryable: false,
    httpStatus: 404,
  },
  bad_request: {
    summary:
      "The HTTP request is malformed: its target is not a valid path or URL, or its request line or headers break HTTP/1.1.",
    retryable: false,
    httpStatus: 400,
  },
  too_many_streams: {
    summary: "This API key already has as many open streams as the server allows.",
    retryable: true,
    httpStatus: 429,
  },
  over_capacity: {
    summary: "The server cannot take another stream in real time now; retry after the Retry-After delay.",
    retryable: true,
    httpStatus: 503,
    close: CloseCode.tryAgainLater,
  },
  session_not_found: {
    summary: "No session to resume: the token is unknown, or its grace period ended (e.g. the server restarted).",
    retryable: false,
  },
  bad_json: {
    summary: "A text frame was not valid JSON.",
    retryable: false,
  },
  unknown_message_type: {
    summary: "The message `type` is not one the server knows.",
    retryable: false,
  },
  invalid_message: {
    summary: "A message field has the wrong type or value.",
    retryable: false,
  },
  invalid_audio: {
    summary: "Audio was not valid hex, not a whole number of 16-bit samples, or not a decodable Opus packet.",
    retryable: false,
  },
  audio_before_config: {
    summary: "Audio arrived before a valid `config` message.",
    retryable: false,
  },
  config_already_set: {
    summary: "A second `config` arrived; the stream keeps its first configuration.",
    retryable: false,
  },
  unsupported_language: {
    summary: "The engine cannot transcribe this language.",
    retryable: false,
  },
  unsupported_model: {
    summary: "The engine does not serve this model.",
    retryable: false,
  },
  unsupported_encoding: {
    summary: "The audio encoding is not supported, or the sample rate or overlap does not fit it.",
    retryable: false,
  },
  model_invalid: {
    summary:
      "The model asked for failed its checks when the server loaded it (missing or corrupt files); other models keep serving.",
    retryable: false,
  },
  keyterms_unsupported: {
    summary: "The engine, model or decoding method cannot honour `keyterms`.",
    retryable: false,
  },
  unsupported_redaction: {
    summary: "`config.redact` names something the server cannot redact; it takes `pci`, `ssn` and `numbers`.",
    retryable: false,
  },
  invalid_resume_state: {
    summary:
      "`config.resume_state` is not a checkpoint this server's engine can continue from (malformed, too large, another engine's, or not at `start_sample`); start without it.",
    retryable: false,
  },
  config_timeout: {
    summary: "No valid `config` (or `resume`) arrived soon enough after the connection opened.",
    retryable: true,
    close: CloseCode.policyViolation,
  },
  frame_too_large: {
    summary: "A WebSocket message exceeded the server's frame size limit.",
    retryable: false,
    close: CloseCode.messageTooBig,
  },
  session_too_long: {
    summary: "The stream reached the server's maximum session duration.",
    retryable: false,
    close: CloseCode.policyViolation,
  },
  engine_unavailable: {
    summary: "The speech engine failed or is not loaded.",
    retryable: true,
    close: CloseCode.internalError,
  },
  slow_consumer: {
    summary:
      "The client read the server's messages too slowly and fell too far behind; resume the session (its finals are sent again).",
    retryable: true,
    close: CloseCode.tryAgainLater,
  },
  draining: {
    summary:
      "This node is draining (a deploy or restart): it takes no new streams or resumes; reconnect at once, to another node.",
    retryable: true,
    httpStatus: 503,
    close: CloseCode.serviceRestart,
  },
  server_shutting_down: {
    summary: "The server is restarting; reconnect.",
    retryable: true,
    close: CloseCode.serviceRestart,
  },
  internal_error: {
    summary: "The server failed while handling a message (a bug: it is logged). Reconnect.",
    retryable: true,
    close: CloseCode.internalError,
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export const WARNINGS = {
  unknown_field: "A message carried a field the server does not know; it was ignored.",
  empty_audio: "An audio message carried no samples; it was ignored.",
} as const;

export type WarningCode = keyof typeof WARNINGS;
