/**
 * The server's decoder for uploads that are not WAV (OpenAI `POST /v1/audio/transcriptions`): the
 * same ffmpeg path as `earshot transcribe` (file-audio.ts), through a private temporary file,
 * because ffmpeg needs to seek in some containers (mp4/m4a) that a pipe cannot give it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concatPcm } from "@earshot/audio";
import type { FileDecoder } from "@earshot/server";
import { findExecutable } from "./capture-backends.js";
import { openFileAudio } from "./file-audio.js";

/** undefined when ffmpeg is not installed: the server then refuses non-WAV uploads with 415. */
export function uploadDecoder(): FileDecoder | undefined {
  return findExecutable("ffmpeg") === undefined ? undefined : decodeUpload;
}

async function decodeUpload(bytes: Uint8Array): Promise<Int16Array> {
  const dir = await mkdtemp(join(tmpdir(), "earshot-upload-"));
  const file = join(dir, "upload");
  try {
    await writeFile(file, bytes, { mode: 0o600 });
    let audio: Awaited<ReturnType<typeof openFileAudio>>;
    try {
      audio = await openFileAudio(file);
    } catch (error) {
      // The message names our temporary file; the client knows its file by its own name.
      throw new Error((error as Error).message.replaceAll(`${file}: `, "").replaceAll(file, "the file"));
    }
    const parts: Int16Array[] = [];
    for await (const chunk of audio.chunks) parts.push(chunk);
    return concatPcm(...parts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
