/**
 * The last steps of an install, shared by `pull` and `--model-dir`: check that the files the model
 * needs are there, hash them, and write `earshot-model.json` (always last: a directory without it
 * is not an installed model).
 */
import { access } from "node:fs/promises";
import { join } from "node:path";
import { type CatalogEntry, specFor } from "./catalog.js";
import { hashFile, writeManifest } from "./model-cache.js";
import type { ArchiveRecord, ModelManifest } from "./model-spec.js";
import { ModelStoreError } from "./model-store-error.js";

/** The optional hotword vocabulary, recorded when the archive ships it (notes B, "Hotwords per model"). */
const BPE_VOCAB = "bpe.vocab";

export interface ManifestSource {
  /** An archive URL, or "local" for a directory placed by hand. */
  readonly source: string;
  readonly archive?: ArchiveRecord;
}

export async function recordManifest(dir: string, entry: CatalogEntry, from: ManifestSource): Promise<ModelManifest> {
  const missing: string[] = [];
  for (const file of Object.values(entry.files)) {
    if (!(await exists(join(dir, file)))) missing.push(file);
  }
  if (missing.length > 0) {
    throw new ModelStoreError("archive_invalid", `${entry.name}: ${missing.join(", ")} not found in ${from.source}`);
  }
  const usesBpe = entry.modelingUnit !== "cjkchar";
  const spec = specFor(entry, usesBpe && (await exists(join(dir, BPE_VOCAB))) ? BPE_VOCAB : undefined);
  const sha256: Record<string, string> = {};
  const bytes: Record<string, number> = {};
  for (const file of Object.values(spec.files)) {
    const hashed = await hashFile(join(dir, file));
    sha256[file] = hashed.sha256;
    bytes[file] = hashed.bytes;
  }
  const manifest: ModelManifest = {
    spec,
    sha256,
    bytes,
    source: from.source,
    installedAt: new Date().toISOString(),
    ...(from.archive ? { archive: from.archive } : {}),
  };
  await writeManifest(dir, manifest);
  return manifest;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
