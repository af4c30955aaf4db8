/**
 * `earshot models pull`: download (resumable) → sha256 → extract into a temporary directory beside
 * the target → check and hash the files → write the manifest → rename into place. Any failure
 * removes the temporary directory, so a failed pull never leaves a model that looks installed; an
 * interrupted download keeps its `.partial` file for the next run to resume.
 */
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { CatalogEntry } from "./catalog.js";
import { type DownloadProgress, downloadArchive } from "./download.js";
import { extractTarBz2 } from "./extract.js";
import { exists, recordManifest } from "./install.js";
import { partialDownloadPath, readManifest } from "./model-cache.js";
import type { ModelManifest } from "./model-spec.js";
import { fileSystemError, ModelStoreError } from "./model-store-error.js";
import { lockPull } from "./pull-lock.js";

export interface PullOptions {
  readonly entry: CatalogEntry;
  readonly modelsDir: string;
  /** The archive URL (the catalogue's, or a mirror's). */
  readonly url: string;
  /** Download and install again even when the model is installed. */
  readonly force?: boolean;
  readonly onProgress?: (progress: DownloadProgress) => void;
  readonly onStage?: (stage: "extracting") => void;
}

export interface PullResult {
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** True when nothing was done because the model was already installed. */
  readonly alreadyInstalled: boolean;
  /** Bytes reused from an interrupted download. */
  readonly resumedFrom: number;
}

export async function pullModel(options: PullOptions): Promise<PullResult> {
  const { entry, modelsDir } = options;
  const target = join(modelsDir, entry.name);
  const installed = await readManifest(target).catch(() => undefined);
  if (installed && !options.force) return { dir: target, manifest: installed, alreadyInstalled: true, resumedFrom: 0 };

  const partialPath = partialDownloadPath(modelsDir, entry.name);
  let temporary: string | undefined;
  let unlock: (() => Promise<void>) | undefined;
  try {
    await makeModelsDir(modelsDir);
    unlock = await lockPull(modelsDir, entry.name);
    await removeLeftovers(modelsDir, entry.name);
    const download = await downloadArchive({
      url: options.url,
      partialPath,
      expectedSha256: entry.archiveSha256,
      expectedBytes: entry.archiveBytes,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    options.onStage?.("extracting");
    temporary = await mkdtemp(join(modelsDir, `.${entry.name}.pull-`));
    const wanted = new Set<string>(Object.values(entry.files));
    try {
      await extractTarBz2({
        archivePath: partialPath,
        targetDir: temporary,
        topDir: entry.archive,
        // The archives ship fp32 and int8 weights; only the set the model loads is kept.
        skip: (path) => path.endsWith(".onnx") && !wanted.has(path),
      });
    } catch (error) {
      // A corrupt or unusable archive would fail the same way next time: download it afresh.
      if (error instanceof ModelStoreError && error.code === "archive_invalid") await rm(partialPath, { force: true });
      throw error;
    }
    const manifest = await recordManifest(temporary, entry, {
      source: options.url,
      archive: {
        sha256: download.sha256,
        bytes: download.bytes,
        checksum: entry.archiveSha256 === undefined ? "first-use" : "pinned",
      },
    }).catch(async (error: unknown) => {
      if (error instanceof ModelStoreError && error.code === "archive_invalid") await rm(partialPath, { force: true });
      throw error;
    });
    await swapIn(temporary, target);
    temporary = undefined;
    await rm(partialPath, { force: true });
    return { dir: target, manifest, alreadyInstalled: false, resumedFrom: download.resumedFrom };
  } catch (error) {
    if (temporary !== undefined) await rm(temporary, { recursive: true, force: true }).catch(() => undefined);
    throw fileSystemError(error, `installing ${entry.name} into ${modelsDir}`);
  } finally {
    await unlock?.();
  }
}

/** Renames `source` to `target`, moving an existing `target` aside first and removing it after. */
async function swapIn(source: string, target: string): Promise<void> {
  if (!(await exists(target))) {
    await rename(source, target);
    return;
  }
  const old = `${source}.old`;
  await rename(target, old);
  await rename(source, target);
  await rm(old, { recursive: true, force: true });
}

/** Temporary directories of an earlier pull of this model that was killed. */
async function removeLeftovers(modelsDir: string, name: string): Promise<void> {
  for (const leftover of await readdir(modelsDir)) {
    if (leftover.startsWith(`.${name}.pull-`) || leftover.startsWith(`.${name}.rm-`)) {
      await rm(join(modelsDir, leftover), { recursive: true, force: true });
    }
  }
}

/**
 * Node 20's recursive mkdir spins for ever on a path under /proc instead of failing, so that one
 * is refused up front like any other directory that cannot be written.
 */
async function makeModelsDir(modelsDir: string): Promise<void> {
  const absolute = resolve(modelsDir);
  if (absolute === "/proc" || absolute.startsWith("/proc/")) {
    throw new ModelStoreError(
      "no_permission",
      `cannot write ${absolute} (under /proc); set EARSHOT_MODELS_DIR to a writable directory`,
    );
  }
  await mkdir(absolute, { recursive: true });
}
