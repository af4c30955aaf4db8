/**
 * An audio file as 16 kHz mono PCM16 chunks, or with `channels: "keep"` as 16 kHz chunks of its
 * channels interleaved (each channel resampled on its own: `transcribe --channels split`). WAV is
 * read natively (any rate, channels, PCM, float, G.711); everything else (mp3, ogg, opus, flac,
 * m4a/aac, video files…) is decoded by ffmpeg at the file's own rate and channels into float WAV on
 * a pipe, and converted by our resampler like WAV. ffmpeg's swresample could resample too, but one
 * converter for every source keeps files, WAV and microphones sample-identical for the same audio.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { AudioFormatError, interleavePcm, readWav, toMono16k } from "@earshot/audio";
import { findExecutable } from "./capture-backends.js";
import { CliError } from "./cli-error.js";
import { lastLine, openWavPipe } from "./wav-pipe.js";

export interface FileAudio {
  /** "wav" (read natively) or "ffmpeg". */
  readonly decoder: "wav" | "ffmpeg";
  readonly sampleRate: number;
  /** The file's channels; with `channels: "keep"`, also how many are interleaved in `chunks`. */
  readonly channels: number;
  readonly chunks: AsyncIterable<Int16Array> | Iterable<Int16Array>;
  /** Stops decoding early (on Ctrl-C or a closed stream). */
  stop(): void;
}

export interface FileAudioOptions {
  /** `mix` (default): one mono channel, the average. `keep`: every channel, interleaved. */
  readonly channels?: "mix" | "keep";
}

export const NO_FFMPEG_HINT = "install ffmpeg to read it (Debian: sudo apt-get install ffmpeg)";

/** Opens `file`, or throws a one-line CliError: exit 2 for unreadable input, 1 for missing ffmpeg. */
export async function openFileAudio(file: string, options: FileAudioOptions = {}): Promise<FileAudio> {
  const head = readHead(file);
  const isWav = head.length >= 12 && ascii(head, 0) === "RIFF" && ascii(head, 8) === "WAVE";
  if (isWav) {
    try {
      return readWavFile(file, options);
    } catch (error) {
      // An encoding we do not decode (ADPCM, GSM…) may still be one ffmpeg does.
      const unsupported = error instanceof AudioFormatError && error.code === "unsupported_wav_format";
      if (!unsupported || findExecutable("ffmpeg") === undefined) {
        if (error instanceof AudioFormatError) throw new CliError(`${file}: ${error.message}`);
        throw error;
      }
    }
  }
  if (findExecutable("ffmpeg") === undefined) {
    throw new CliError(`${file} is not a WAV file, and ffmpeg is not installed: ${NO_FFMPEG_HINT}`, { exitCode: 1 });
  }
  return decodeWithFfmpeg(file, options);
}

function readWavFile(file: string, options: FileAudioOptions): FileAudio {
  const wav = readWav(readFileSync(file));
  const pcm =
    options.channels === "keep"
      ? interleavePcm(wav.samples.map((channel) => toMono16k({ sampleRate: wav.sampleRate, channels: [channel] })))
      : toMono16k({ sampleRate: wav.sampleRate, channels: wav.samples });
  return {
    decoder: "wav",
    sampleRate: wav.sampleRate,
    channels: wav.channels,
    chunks: [pcm],
    stop: () => {},
  };
}

async function decodeWithFfmpeg(file: string, options: FileAudioOptions): Promise<FileAudio> {
  // The first audio stream, at its own rate and channel count, as 32-bit float (no requantizing).
  const args = ["-nostdin", "-hide_banner", "-loglevel", "error", "-i", file];
  args.push("-map", "0:a:0", "-c:a", "pcm_f32le", "-f", "wav", "-");
  const pipe = await openWavPipe(
    "ffmpeg",
    args,
    (exit) => {
      if (/Stream map '0:a:0' matches no streams/.test(exit.stderr))
        return new CliError(`${file}: no audio stream in it`);
      const detail = lastLine(exit.stderr);
      return new CliError(
        `${file}: not audio ffmpeg can decode${detail ? ` (ffmpeg: ${detail.replace(`${file}: `, "")})` : ""}`,
      );
    },
    { channels: options.channels ?? "mix" },
  );
  return {
    decoder: "ffmpeg",
    sampleRate: pipe.info.sampleRate,
    channels: pipe.info.channels,
    chunks: pipe.chunks,
    stop: () => pipe.stop(),
  };
}

function readHead(file: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const head = Buffer.alloc(12);
    return head.subarray(0, readSync(fd, head, 0, 12, 0));
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

function ascii(bytes: Buffer, at: number): string {
  return bytes.toString("latin1", at, at + 4);
}
