/**
 * Downloads one archive into a `.partial` file, resuming a previous attempt with an HTTP Range
 * request, and hashes it on the way (the bytes already on disk first), so the sha256 is known the
 * moment the last byte lands.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, open, rm, stat } from "node:fs/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { fileSystemError, ModelStoreError } from "./model-store-error.js";

export interface DownloadProgress {
  readonly receivedBytes: number;
  /** Undefined when the server sends no length and the catalogue has none. */
  readonly totalBytes: number | undefined;
  /** Bytes that were already on disk from an interrupted attempt. */
  readonly resumedFrom: number;
}

export interface DownloadOptions {
  readonly url: string;
  readonly partialPath: string;
  /** Checked at the end; on a mismatch the partial file is deleted. Undefined: trust on first use. */
  readonly expectedSha256?: string | undefined;
  /** The size to show progress against when the server sends no Content-Length. */
  readonly expectedBytes?: number | undefined;
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Abort when no byte arrives for this long (default 60 s). */
  readonly idleTimeoutMs?: number;
}

export interface DownloadResult {
  readonly sha256: string;
  readonly bytes: number;
  readonly resumedFrom: number;
}

export async function downloadArchive(options: DownloadOptions): Promise<DownloadResult> {
  const protocol = new URL(options.url).protocol;
  if (protocol !== "https:" && protocol !== "http:") {
    throw new ModelStoreError("download_failed", `${options.url}: only http(s) URLs can be downloaded`);
  }
  const offset = await sizeOf(options.partialPath);
  const result = await attempt(options, offset);
  if (options.expectedSha256 !== undefined && result.sha256 !== options.expectedSha256) {
    await rm(options.partialPath, { force: true });
    throw new ModelStoreError(
      "checksum_mismatch",
      `${options.url}: sha256 ${result.sha256}, expected ${options.expectedSha256}; the download was deleted`,
    );
  }
  return result;
}

async function attempt(options: DownloadOptions, offset: number, restarted = false): Promise<DownloadResult> {
  const { url, partialPath } = options;
  const idle = new AbortController();
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let timer = setTimeout(() => idle.abort(), idleMs);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), idleMs);
  };
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        // Byte ranges and lengths must count the file's bytes, not a compressed transfer encoding.
        headers: { "accept-encoding": "identity", ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
        redirect: "follow",
        signal: idle.signal,
      });
    } catch (error) {
      throw downloadFailed(url, error, idle.signal.aborted ? `no answer for ${idleMs} ms` : undefined);
    }
    // The partial is complete or bigger than the file now is, or the server ignored the Range or
    // answered another one: start over rather than append to bytes that may not belong.
    const resumed = offset > 0 && response.status === 206 && contentRangeStart(response) === offset;
    if (offset > 0 && !resumed && !restarted && (response.status === 416 || response.ok)) {
      await response.body?.cancel();
      await rm(partialPath, { force: true });
      return attempt(options, 0, true);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new ModelStoreError(
        "download_failed",
        `${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
      );
    }
    const hash = createHash("sha256");
    if (resumed) await hashFileInto(hash, partialPath);
    const length = Number(response.headers.get("content-length") ?? Number.NaN);
    const totalBytes = Number.isFinite(length) ? offset + length : options.expectedBytes;
    const resumedFrom = resumed ? offset : 0;
    let receivedBytes = resumedFrom;
    options.onProgress?.({ receivedBytes, totalBytes, resumedFrom });
    // Chunks are taken from the connection as they come and written in order behind it, so a cut
    // connection keeps every byte it delivered for the resume: a stream that errors drops the
    // chunks still queued in it, so the reader must not wait on the disk (unless far ahead of it).
    // Reading starts at once: the file opens behind it (an error arriving meanwhile would drop the
    // chunks the stream holds).
    const writer = new OrderedWriter(partialPath, resumed ? "a" : "w");
    try {
      // The web stream itself, not Readable.fromWeb: a Node stream destroyed by the error would
      // throw away what it had buffered.
      for await (const chunk of response.body as WebReadableStream<Uint8Array>) {
        touch();
        const bytes = chunk as Uint8Array;
        hash.update(bytes);
        receivedBytes += bytes.length;
        options.onProgress?.({ receivedBytes, totalBytes, resumedFrom });
        await writer.write(bytes);
      }
      await writer.drain();
    } catch (error) {
      // Keep what arrived before the cut: the resume starts after it.
      await writer.drain().catch(() => undefined);
      if (error instanceof ModelStoreError) throw error;
      throw downloadFailed(
        url,
        error,
        `${idle.signal.aborted ? `no data for ${idleMs} ms` : "connection lost"} after ${receivedBytes} bytes; run the same command again to resume`,
      );
    } finally {
      await writer.close();
    }
    return { sha256: hash.digest("hex"), bytes: receivedBytes, resumedFrom };
  } finally {
    clearTimeout(timer);
  }
}

function downloadFailed(url: string, error: unknown, reason?: string): ModelStoreError {
  if (error instanceof ModelStoreError) return error;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = reason ?? cause?.code ?? cause?.message ?? (error as Error).message;
  return new ModelStoreError("download_failed", `${url}: ${detail}`, { cause: error });
}

/** The first byte position of a 206 answer (`Content-Range: bytes 100-199/200`). */
function contentRangeStart(response: Response): number | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
  return match ? Number(match[1]) : undefined;
}

async function sizeOf(path: string): Promise<number> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats.size : 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw fileSystemError(error, `reading ${path}`);
  }
}

async function hashFileInto(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** Appends chunks in order without making the caller wait, unless too much is still unwritten. */
class OrderedWriter {
  static readonly MAX_PENDING_BYTES = 16 * 1024 * 1024;
  readonly #path: string;
  #file: FileHandle | undefined;
  #tail: Promise<void>;
  #pendingBytes = 0;
  #failure: ModelStoreError | undefined;

  constructor(path: string, flags: "a" | "w") {
    this.#path = path;
    this.#tail = this.#run(async () => {
      this.#file = await open(path, flags);
    });
  }

  /** Queues `bytes`; rejects with the first failure (no space, no permission). */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    this.#pendingBytes += bytes.length;
    this.#tail = this.#tail.then(() =>
      this.#run(async () => {
        try {
          await this.#file?.write(bytes);
        } finally {
          this.#pendingBytes -= bytes.length;
        }
      }),
    );
    if (this.#pendingBytes > OrderedWriter.MAX_PENDING_BYTES) await this.drain();
  }

  /** Waits for every queued chunk; rejects with the first failure. */
  async drain(): Promise<void> {
    await this.#tail;
    if (this.#failure) throw this.#failure;
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#file?.close();
  }

  /** Runs one file operation unless an earlier one failed; a failure is kept, not thrown. */
  async #run(operation: () => Promise<void>): Promise<void> {
    if (this.#failure) return;
    try {
      await operation();
    } catch (error) {
      const mapped = fileSystemError(error, `writing ${this.#path}`);
      this.#failure =
        mapped instanceof ModelStoreError
          ? mapped
          : new ModelStoreError("download_failed", `writing ${this.#path}: ${(error as Error).message}`, {
              cause: error,
            });
    }
  }
}
