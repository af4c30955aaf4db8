import { ERRORS, type ErrorCode } from "@earshot/protocol";

/**
 * The wire code for an engine failure: an engine error that carries a documented code (a corrupt
 * model's `model_invalid`) keeps it; anything else is `engine_unavailable`.
 */
export function engineErrorCode(error: unknown): ErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && Object.hasOwn(ERRORS, code) ? (code as ErrorCode) : "engine_unavailable";
}
