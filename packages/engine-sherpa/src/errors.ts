/**
 * Errors of the sherpa-onnx engine, with the stable codes of `@earshot/protocol`'s error table.
 */

/**
 * A model directory that must not be loaded: a file missing, empty, not ONNX or not matching its
 * checksum, metadata sherpa-onnx requires missing, tokens inconsistent with the model, or a canary
 * load that crashed. Loading such a model into a process aborts it, so this is decided first.
 */
export class ModelInvalidError extends Error {
  readonly code = "model_invalid";
  /** The file at fault, when one is (absolute path). */
  readonly file: string | undefined;
  /** What the native library printed (the canary child's stderr tail), when it got that far. */
  readonly detail: string | undefined;

  constructor(
    message: string,
    options: { readonly file?: string; readonly detail?: string; readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ModelInvalidError";
    this.file = options.file;
    this.detail = options.detail;
  }
}

/** Key terms were asked for, but this engine, model or decoding method cannot honour them. */
export class KeytermsUnsupportedError extends Error {
  readonly code = "keyterms_unsupported";
  constructor(message: string) {
    super(message);
    this.name = "KeytermsUnsupportedError";
  }
}
