/**
 * The programs `earshot mic` records through: ALSA's `arecord`, SoX and ffmpeg. Each opens an ALSA
 * device by name and is asked for the device's own rate, channels and sample format, written as
 * WAV to stdout (the header states what the device really delivered; see @earshot/audio's
 * wav-stream.ts). Conversion to 16 kHz mono is ours (the polyphase resampler), never ALSA's plug
 * layer, whose default rate converter is linear interpolation.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export const BACKEND_NAMES = ["alsa", "sox", "ffmpeg"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** ALSA sample formats a capture can ask for, best first; each has a WAV encoding we decode. */
export const SAMPLE_FORMATS = ["S16_LE", "S32_LE", "S24_3LE", "FLOAT_LE"] as const;
export type SampleFormat = (typeof SAMPLE_FORMATS)[number];

export interface CaptureFormat {
  readonly rate: number;
  readonly channels: number;
  readonly sampleFormat: SampleFormat;
}

export interface CaptureBackend {
  readonly name: BackendName;
  readonly command: string;
  /** What to `apt-get install` for it. */
  readonly debianPackages: string;
  /** Whether it can ask the device for this sample format (ffmpeg's ALSA input is 16-bit only). */
  supports(format: SampleFormat): boolean;
  args(device: string, format: CaptureFormat): string[];
}

const SOX_ENCODING: Record<SampleFormat, string[]> = {
  S16_LE: ["-e", "signed", "-b", "16"],
  S32_LE: ["-e", "signed", "-b", "32"],
  S24_3LE: ["-e", "signed", "-b", "24"],
  FLOAT_LE: ["-e", "floating-point", "-b", "32"],
};

export const BACKENDS: readonly CaptureBackend[] = [
  {
    name: "alsa",
    command: "arecord",
    debianPackages: "alsa-utils",
    supports: () => true,
    args: (device, f) => [
      "-q",
      "-D",
      device,
      "-f",
      f.sampleFormat,
      "-r",
      String(f.rate),
      "-c",
      String(f.channels),
      "-t",
      "wav",
    ],
  },
  {
    name: "sox",
    command: "sox",
    debianPackages: "sox libsox-fmt-alsa",
    supports: () => true,
    args: (device, f) => [
      "-q",
      "-t",
      "alsa",
      "-r",
      String(f.rate),
      "-c",
      String(f.channels),
      ...SOX_ENCODING[f.sampleFormat],
      device,
      "-t",
      "wav",
      "-",
    ],
  },
  {
    name: "ffmpeg",
    command: "ffmpeg",
    debianPackages: "ffmpeg",
    supports: (format) => format === "S16_LE",
    args: (device, f) => [
      "-nostdin",
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "alsa",
      "-sample_rate",
      String(f.rate),
      "-channels",
      String(f.channels),
      "-i",
      device,
      "-f",
      "wav",
      "-",
    ],
  },
];

export const NO_BACKEND_MESSAGE =
  "no audio recorder found: install one of alsa-utils (arecord), sox or ffmpeg (Debian: sudo apt-get install alsa-utils)";

/** The full path of `command` on PATH, if it is there and executable. */
export function findExecutable(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function installedBackends(): CaptureBackend[] {
  return BACKENDS.filter((b) => findExecutable(b.command) !== undefined);
}

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(value);
}
