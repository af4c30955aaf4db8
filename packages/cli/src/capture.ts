/**
 * Microphone capture through whichever recorder is installed: ALSA's `arecord`, SoX, or ffmpeg.
 * Each is asked for raw 16 kHz mono PCM16LE on stdout, so no resampling happens here.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { CliError } from "./cli-error.js";

export interface CaptureBackend {
  readonly name: string;
  readonly command: string;
  args(device: string | undefined): string[];
}

export const BACKENDS: readonly CaptureBackend[] = [
  {
    name: "alsa",
    command: "arecord",
    args: (device) => ["-q", ...(device ? ["-D", device] : []), "-f", "S16_LE", "-r", "16000", "-c", "1", "-t", "raw"],
  },
  {
    name: "sox",
    command: "sox",
    args: (device) => [
      "-q",
      ...(device ? ["-t", "alsa", device] : ["-d"]),
      "-t",
      "raw",
      "-r",
      "16000",
      "-e",
      "signed",
      "-b",
      "16",
      "-c",
      "1",
      "-",
    ],
  },
  {
    name: "ffmpeg",
    command: "ffmpeg",
    args: (device) => [
      "-loglevel",
      "error",
      "-f",
      "alsa",
      "-i",
      device ?? "default",
      "-ac",
      "1",
      "-ar",
      "16000",
      "-f",
      "s16le",
      "-",
    ],
  },
];

function installed(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The first installed backend, or a CliError naming what to install. */
export function findBackend(): CaptureBackend {
  const backend = BACKENDS.find((b) => installed(b.command));
  if (!backend) {
    throw new CliError("no audio recorder found: install one of alsa-utils (arecord), sox or ffmpeg", 1);
  }
  return backend;
}

/** Capture devices ALSA knows, from `arecord -l`; empty when there is no sound card. */
export function alsaCaptureDevices(): string[] {
  if (!installed("arecord")) return [];
  let listing = "";
  try {
    listing = execFileSync("arecord", ["-l"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch {
    return [];
  }
  return [...listing.matchAll(/^card (\d+): .*?, device (\d+): (.*)$/gm)].map((m) => `hw:${m[1]},${m[2]} ${m[3]}`);
}

export function startCapture(backend: CaptureBackend, device: string | undefined): ChildProcess {
  return spawn(backend.command, backend.args(device), { stdio: ["ignore", "pipe", "pipe"] });
}
