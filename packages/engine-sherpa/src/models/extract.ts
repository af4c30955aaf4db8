/**
 * Unpacks a `.tar.bz2` model archive: the system's `bzip2` decompresses (native speed, in Debian's
 * base), npm `tar` (the one npm itself uses) unpacks. Only regular files and directories under the
 * archive's single top-level directory are accepted: a symlink, hard link, device, absolute path or
 * `..` anywhere fails the whole extraction, so nothing can land outside the target directory.
 */
import { spawn } from "node:child_process";
import { posix } from "node:path";
import { extract as untar } from "tar";
import { fileSystemError, ModelStoreError } from "./model-store-error.js";

const SAFE_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory"]);

export interface ExtractOptions {
  readonly archivePath: string;
  /** An existing, empty directory; the archive's top-level directory is stripped. */
  readonly targetDir: string;
  /** The archive's expected top-level directory. */
  readonly topDir: string;
  /** Entries to leave out (path relative to the top directory), e.g. weights the model does not load. */
  readonly skip?: (path: string) => boolean;
}

export async function extractTarBz2(options: ExtractOptions): Promise<void> {
  const unsafe: string[] = [];
  const bzip2 = spawn("bzip2", ["-dc", options.archivePath], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  bzip2.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    bzip2.on("error", reject).on("close", (code) => resolve(code));
  });
  const unpack = untar({
    cwd: options.targetDir,
    strip: 1,
    strict: true,
    preserveOwner: false,
    filter: (path, entry) => {
      const type = "type" in entry ? entry.type : "File";
      const relative = insideTop(path, options.topDir);
      if (relative === undefined || !SAFE_TYPES.has(type)) {
        unsafe.push(`${path} (${type})`);
        return false;
      }
      return relative !== "" && !(options.skip?.(relative) ?? false);
    },
  });
  const unpacked = new Promise<void>((resolve, reject) => {
    unpack.on("error", reject).on("close", () => resolve());
  });
  bzip2.stdout.pipe(unpack);
  let code: number | null;
  try {
    [code] = await Promise.all([exited, unpacked]);
  } catch (error) {
    bzip2.kill();
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && (error as NodeJS.ErrnoException).path === "bzip2") {
      throw new ModelStoreError("archive_invalid", "bzip2 is not installed (Debian: apt-get install bzip2)", {
        cause: error,
      });
    }
    const mapped = fileSystemError(error, `extracting into ${options.targetDir}`);
    if (mapped !== error) throw mapped;
    // A corrupt stream usually fails in tar first; bzip2's own complaint says more.
    const bzip2Said = await exited.then(
      () => firstLine(stderr),
      () => "",
    );
    throw new ModelStoreError("archive_invalid", `${options.archivePath}: ${bzip2Said || (error as Error).message}`, {
      cause: error,
    });
  }
  if (code !== 0) {
    throw new ModelStoreError(
      "archive_invalid",
      `${options.archivePath}: not a bzip2 archive or corrupt (${firstLine(stderr) || `bzip2 exit ${code}`})`,
    );
  }
  if (unsafe.length > 0) {
    throw new ModelStoreError(
      "archive_invalid",
      `${options.archivePath}: refused entries outside "${options.topDir}/" or not plain files: ${unsafe.slice(0, 5).join(", ")}`,
    );
  }
}

/** The path relative to the top directory, or undefined when it is not safely inside it. */
function insideTop(path: string, topDir: string): string | undefined {
  if (path.startsWith("/") || path.split("/").includes("..")) return undefined;
  const normal = posix.normalize(path).replace(/\/+$/, "");
  if (normal === topDir) return "";
  return normal.startsWith(`${topDir}/`) ? normal.slice(topDir.length + 1) : undefined;
}

/** bzip2 explains itself over a dozen lines; the first says what happened. */
function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}
