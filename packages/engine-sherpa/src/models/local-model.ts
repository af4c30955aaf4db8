/**
 * Models placed by hand (`--model-dir`, for air-gapped machines) and removing installed models.
 */
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { CatalogEntry } from "./catalog.js";
import { exists, recordManifest } from "./install.js";
import { readManifest } from "./model-cache.js";
import type { ModelManifest } from "./model-spec.js";
import { fileSystemError, ModelStoreError } from "./model-store-error.js";

/**
 * Records `earshot-model.json` in a directory holding an unpacked archive (the catalogue says which
 * files to load). Its checksums are trusted on first use: `verify` checks against them later.
 */
export async function adoptModelDir(
  entry: CatalogEntry,
  dir: string,
  force = false,
): Promise<{ manifest: ModelManifest; alreadyInstalled: boolean }> {
  const existing = await readManifest(dir).catch(() => undefined);
  if (existing && !force) return { manifest: existing, alreadyInstalled: true };
  if (!(await exists(dir))) throw new ModelStoreError("model_not_installed", `${dir} does not exist`);
  try {
    return { manifest: await recordManifest(dir, entry, { source: "local" }), alreadyInstalled: false };
  } catch (error) {
    throw fileSystemError(error, `writing the manifest in ${dir}`);
  }
}

/**
 * Deletes an installed model directory (only one with a manifest: never an arbitrary directory).
 * It is renamed first, so a removal cut short never leaves something that looks installed.
 */
export async function removeModelDir(dir: string, partialPath?: string): Promise<void> {
  if (!(await readManifest(dir).catch(() => undefined))) {
    throw new ModelStoreError("model_not_installed", `${dir} holds no installed model (no earshot-model.json)`);
  }
  const doomed = join(dirname(dir), `.${basename(dir)}.rm-${process.pid}`);
  try {
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
    if (partialPath !== undefined) await rm(partialPath, { force: true });
  } catch (error) {
    throw fileSystemError(error, `removing ${dir}`);
  }
}
