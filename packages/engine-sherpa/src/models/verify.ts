/**
 * `earshot models verify`: every file `earshot-model.json` names is present, with the size and
 * sha256 recorded at install time. (Whether the files are valid ONNX is the engine's preflight.)
 */
import { join } from "node:path";
import { hashFile, readManifest } from "./model-cache.js";
import type { ModelManifest } from "./model-spec.js";
import { ModelStoreError } from "./model-store-error.js";

export type FileStatus = "ok" | "missing" | "size_differs" | "sha256_differs" | "not_recorded";

export interface FileCheck {
  readonly path: string;
  readonly status: FileStatus;
  readonly detail?: string;
}

export interface VerifyResult {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly files: readonly FileCheck[];
  readonly ok: boolean;
}

/** Checks `dir` against its manifest; a `model_not_installed` error when it has none. */
export async function verifyModelDir(dir: string): Promise<VerifyResult> {
  const manifest = await readManifest(dir);
  if (!manifest) {
    throw new ModelStoreError("model_not_installed", `${dir} has no earshot-model.json`);
  }
  const recorded = Object.keys(manifest.sha256);
  const files: FileCheck[] = [];
  for (const path of Object.values(manifest.spec.files)) {
    if (!recorded.includes(path)) files.push({ path, status: "not_recorded", detail: "no sha256 in the manifest" });
  }
  for (const path of recorded) files.push(await checkFile(dir, manifest, path));
  return { dir, manifest, files, ok: files.every((file) => file.status === "ok") };
}

async function checkFile(dir: string, manifest: ModelManifest, path: string): Promise<FileCheck> {
  let actual: { sha256: string; bytes: number };
  try {
    actual = await hashFile(join(dir, path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR") return { path, status: "missing" };
    throw error;
  }
  const bytes = manifest.bytes?.[path];
  if (bytes !== undefined && bytes !== actual.bytes) {
    return { path, status: "size_differs", detail: `${actual.bytes} bytes, recorded ${bytes}` };
  }
  if (manifest.sha256[path] !== actual.sha256) {
    return { path, status: "sha256_differs", detail: `sha256 ${actual.sha256}, recorded ${manifest.sha256[path]}` };
  }
  return { path, status: "ok" };
}

/** A `model_modified` error naming every file that failed, or nothing when all passed. */
export function assertVerified(result: VerifyResult): void {
  if (result.ok) return;
  const failed = result.files
    .filter((file) => file.status !== "ok")
    .map((file) => `${file.path}: ${file.status}${file.detail ? ` (${file.detail})` : ""}`);
  throw new ModelStoreError("model_modified", `${result.dir} does not match its manifest: ${failed.join("; ")}`);
}
