import { defineError } from "@earshot/protocol";

/**
 * Why `earshot models` could not do what it was asked. These codes are printed by the CLI (they
 * never travel on the wire); docs/engines.md ("Models") lists them.
 */
export type ModelStoreErrorCode =
  /** The name is not in the catalogue. */
  | "model_unknown"
  /** The model is not in the cache (or the directory holds no `earshot-model.json`). */
  | "model_not_installed"
  /** Another process is pulling the same model now. */
  | "pull_in_progress"
  /** The network failed or the server answered with an error status. */
  | "download_failed"
  /** The downloaded archive's sha256 is not the expected one; the partial file was deleted. */
  | "checksum_mismatch"
  /** The disk is full (ENOSPC). */
  | "no_space"
  /** The cache directory cannot be written (EACCES, EPERM, EROFS). */
  | "no_permission"
  /** The archive is corrupt, lacks the files the model needs, or holds unsafe entries. */
  | "archive_invalid"
  /** An installed file is missing or differs from what `earshot-model.json` recorded. */
  | "model_modified"
  /** A catalogue file (`EARSHOT_MODELS_CATALOG`) is unreadable or malformed. */
  | "catalog_invalid";

export class ModelStoreError extends defineError<ModelStoreErrorCode>("ModelStoreError") {}

const PERMISSION_CODES = new Set(["EACCES", "EPERM", "EROFS"]);

/**
 * Turns a file-system failure into the error a user can act on: a full disk and a read-only or
 * forbidden directory get their own codes; anything else is rethrown as it is.
 */
export function fileSystemError(error: unknown, what: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new ModelStoreError("no_space", `no space left on the device while ${what}`, { cause: error });
  }
  if (code !== undefined && PERMISSION_CODES.has(code)) {
    const path = (error as NodeJS.ErrnoException).path;
    return new ModelStoreError(
      "no_permission",
      `cannot write ${path ?? "the models directory"} while ${what} (${code}); set EARSHOT_MODELS_DIR to a writable directory`,
      { cause: error },
    );
  }
  return error;
}
