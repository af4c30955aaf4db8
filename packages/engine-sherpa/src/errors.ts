/**
 * Errors of the sherpa-onnx engine, with the stable codes of `@earshot/protocol`'s error table.
 */
import { defineError } from "@earshot/protocol";

/**
 * A model directory that must not be loaded: a file missing, empty, not ONNX or not matching its
 * checksum, metadata sherpa-onnx requires missing, tokens inconsistent with the model, or a canary
 * load that crashed. Loading such a model into a process aborts it, so this is decided first.
 */
export class ModelInvalidError extends defineError<"model_invalid", ModelInvalidFields>(
  "ModelInvalidError",
  "model_invalid",
) {}

export interface ModelInvalidFields {
  /** The file at fault, when one is (absolute path). */
  readonly file: string | undefined;
  /** What the native library printed (the canary child's stderr tail), when it got that far. */
  readonly detail: string | undefined;
}

/** Key terms were asked for, but this engine, model or decoding method cannot honour them. */
export class KeytermsUnsupportedError extends defineError("KeytermsUnsupportedError", "keyterms_unsupported") {}
