/**
 * Capture devices, as ALSA names them. The id is the ALSA PCM name (`hw:CARD=PCH,DEV=0`,
 * `default`, a name from ~/.asoundrc): stable across reboots (card names, not numbers) and what
 * arecord (`-D`), sox (`-t alsa`) and ffmpeg (`-f alsa -i`) all open, so one id works with every
 * backend. Listed by `arecord -L`, else `ffmpeg -sources alsa`, else /proc/asound/pcm (sox alone
 * cannot list).
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { BackendName, CaptureBackend, CaptureFormat } from "./capture-backends.js";
import { chooseCaptureFormat, type DeviceCapabilities, probeAlsaDevice } from "./capture-format.js";

const run = promisify(execFile);

export interface DeviceEntry {
  readonly id: string;
  readonly name: string;
}

export interface CaptureDevice extends DeviceEntry {
  /** The installed backends that can open it (all of them: each opens ALSA names). */
  readonly backends: readonly BackendName[];
  /** What the device accepts, when arecord could probe it. */
  readonly native: DeviceCapabilities | undefined;
  /** What `earshot mic --device <id>` asks for with the first backend. */
  readonly capture: CaptureFormat | undefined;
}

/** `null` captures silence by design; it is no microphone. */
const NOT_MICROPHONES = new Set(["null"]);

export async function listDeviceEntries(backends: readonly CaptureBackend[]): Promise<DeviceEntry[]> {
  const names = new Set(backends.map((b) => b.name));
  let entries: DeviceEntry[] = [];
  if (names.has("alsa")) entries = parseArecordList(await output("arecord", ["-L"]));
  else if (names.has("ffmpeg"))
    entries = parseFfmpegSources(await output("ffmpeg", ["-hide_banner", "-sources", "alsa"]));
  else if (names.has("sox")) entries = parseProcPcm(await readFile("/proc/asound/pcm", "utf8").catch(() => ""));
  return entries.filter((e) => !NOT_MICROPHONES.has(e.id));
}

/** Every capture device with its capabilities (probed one at a time: probes of one card collide). */
export async function listCaptureDevices(backends: readonly CaptureBackend[]): Promise<CaptureDevice[]> {
  const canProbe = backends.some((b) => b.name === "alsa");
  const first = backends[0];
  const devices: CaptureDevice[] = [];
  for (const entry of await listDeviceEntries(backends)) {
    const native = canProbe ? await probeAlsaDevice(entry.id) : undefined;
    let capture: CaptureFormat | undefined;
    try {
      capture = first ? chooseCaptureFormat(native, first) : undefined;
    } catch {
      capture = undefined;
    }
    devices.push({ ...entry, backends: backends.map((b) => b.name), native, capture });
  }
  return devices;
}

async function output(command: string, args: string[]): Promise<string> {
  try {
    return (await run(command, args, { encoding: "utf8", timeout: 10_000 })).stdout;
  } catch (error) {
    // `arecord -L` exits non-zero on some systems while still listing; keep what it printed.
    return (error as { stdout?: string }).stdout ?? "";
  }
}

/** `arecord -L`: a name at the start of a line, its description indented below it. */
export function parseArecordList(text: string): DeviceEntry[] {
  const entries: { id: string; lines: string[] }[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (/^\s/.test(line)) entries.at(-1)?.lines.push(line.trim());
    else entries.push({ id: line.trim(), lines: [] });
  }
  return entries.map((e) => ({ id: e.id, name: e.lines.join(", ") || e.id }));
}

/** `ffmpeg -sources alsa`: "  name [description] (none)" per device. */
export function parseFfmpegSources(text: string): DeviceEntry[] {
  return [...text.matchAll(/^[ *]+(\S+) \[(.*?)\]/gm)].map((m) => ({ id: m[1] ?? "", name: m[2] ?? "" }));
}

/** /proc/asound/pcm: "00-01: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1". */
export function parseProcPcm(text: string): DeviceEntry[] {
  return [...text.matchAll(/^(\d+)-(\d+): ([^:]*?) :.*capture \d+/gm)].map((m) => ({
    id: `hw:${Number(m[1])},${Number(m[2])}`,
    name: m[3] ?? "",
  }));
}
