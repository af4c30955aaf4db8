/**
 * The model cache on disk: `<models dir>/<name>/` holds one installed model with its
 * `earshot-model.json`; a directory without that file is not an installed model (a pull writes it
 * last, just before the atomic rename). Downloads in progress are `<models dir>/<name>.tar.bz2.partial`.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { MODEL_MANIFEST_FILE, type ModelManifest } from "./model-spec.js";
import { ModelStoreError } from "./model-store-error.js";

/** `EARSHOT_MODELS_DIR`, else `$XDG_CACHE_HOME/earshot/models`, else `~/.cache/earshot/models`. */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EARSHOT_MODELS_DIR) return resolve(env.EARSHOT_MODELS_DIR);
  // The XDG spec says relative values are invalid and must be ignored.
  const cache = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(cache, "earshot", "models");
}

export function partialDownloadPath(modelsDir: string, name: string): string {
  return join(modelsDir, `${name}.tar.bz2.partial`);
}

/** The manifest in `dir`, or undefined when there is none. */
export async function readManifest(dir: string): Promise<ModelManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MODEL_MANIFEST_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") {
      return undefined;
    }
    throw error;
  }
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(text) as ModelManifest;
  } catch (error) {
    throw new ModelStoreError("model_modified", `${join(dir, MODEL_MANIFEST_FILE)} is not valid JSON`, {
      cause: error,
    });
  }
  if (typeof manifest?.spec?.name !== "string" || typeof manifest.sha256 !== "object" || manifest.sha256 === null) {
    throw new ModelStoreError("model_modified", `${join(dir, MODEL_MANIFEST_FILE)} lacks "spec" or "sha256"`);
  }
  return manifest;
}

/** Writes the manifest through a temporary file, so a reader never sees half of it. */
export async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  const temporary = join(dir, `.${MODEL_MANIFEST_FILE}.tmp`);
  await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(temporary, join(dir, MODEL_MANIFEST_FILE));
}

export interface InstalledModel {
  readonly name: string;
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** Bytes on disk under `dir`. */
  readonly diskBytes: number;
}

/** Every installed model in the cache (directories with a manifest), by name. */
export async function listInstalled(modelsDir: string): Promise<InstalledModel[]> {
  let names: string[];
  try {
    names = (await readdir(modelsDir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const installed: InstalledModel[] = [];
  for (const name of names) {
    const dir = join(modelsDir, name);
    const manifest = await readManifest(dir).catch(() => undefined);
    if (manifest) installed.push({ name, dir, manifest, diskBytes: await diskUsage(dir) });
  }
  return installed;
}

async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** sha256 (hex) and length of a file, streamed. */
export function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash("sha256");
    let bytes = 0;
    createReadStream(path)
      .on("data", (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
      })
      .on("error", reject)
      .on("end", () => resolvePromise({ sha256: hash.digest("hex"), bytes }));
  });
}
