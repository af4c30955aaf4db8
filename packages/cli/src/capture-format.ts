/**
 * Format negotiation for capture: what an ALSA device offers (`arecord --dump-hw-params`) and the
 * format `earshot mic` asks it for. The device's own format is captured, so no one but us converts
 * it: the plug layer or a `hw:` device asked for 16 kHz would resample with ALSA's linear
 * converter, which aliases. Our polyphase resampler takes it from there.
 */
import { spawn } from "node:child_process";
import { type CaptureBackend, type CaptureFormat, SAMPLE_FORMATS, type SampleFormat } from "./capture-backends.js";
import { CliError } from "./cli-error.js";

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** What a device accepts, as ALSA reports it: intervals for rate and channels, a set of formats. */
export interface DeviceCapabilities {
  readonly rates: Range;
  readonly channels: Range;
  readonly formats: readonly string[];
}

/**
 * Rates to ask for, best first: the common native rates of sound hardware (48 kHz and 44.1 kHz),
 * then the rest. A device accepting any rate is a converting plugin (`default`, `plughw`, a sound
 * server): 48 kHz is then the rate it most likely runs at, so it converts nothing.
 */
const PREFERRED_RATES = [48_000, 44_100, 96_000, 88_200, 32_000, 24_000, 22_050, 16_000, 11_025, 8_000];

/** Above this a rate or channel maximum means "anything" (ALSA prints 4294967295 or 1073741823). */
const UNBOUNDED = 1_000_000;

export interface FormatOverrides {
  readonly rate?: number | undefined;
  readonly channels?: number | undefined;
}

/** The format to capture `caps` in with `backend`, honouring explicit --rate / --channels. */
export function chooseCaptureFormat(
  caps: DeviceCapabilities | undefined,
  backend: CaptureBackend,
  overrides: FormatOverrides = {},
): CaptureFormat {
  const usable = SAMPLE_FORMATS.filter((f) => backend.supports(f));
  const sampleFormat = caps === undefined ? usable[0] : usable.find((f) => caps.formats.includes(f));
  if (sampleFormat === undefined) {
    const offered = caps?.formats.join(" ") ?? "";
    throw new CliError(
      `the device offers only ${offered || "no sample format"}; ${backend.command} cannot capture that` +
        (backend.name === "ffmpeg" ? " (ffmpeg reads 16-bit only): use --backend alsa or sox" : ""),
      { exitCode: 1 },
    );
  }
  const rate =
    overrides.rate ??
    (caps === undefined
      ? (PREFERRED_RATES[0] as number)
      : (PREFERRED_RATES.find((r) => within(caps.rates, r)) ?? caps.rates.min));
  const channels = overrides.channels ?? (caps === undefined ? 1 : Math.max(1, caps.channels.min));
  return { rate, channels, sampleFormat: sampleFormat as SampleFormat };
}

/** "44100–48000 Hz, 2 ch, S16_LE S32_LE", or "any rate" for a converting plugin. */
export function describeCapabilities(caps: DeviceCapabilities): string {
  const rates =
    caps.rates.max >= UNBOUNDED
      ? "any rate"
      : caps.rates.min === caps.rates.max
        ? `${caps.rates.min} Hz`
        : `${caps.rates.min}–${caps.rates.max} Hz`;
  const channels =
    caps.channels.max >= UNBOUNDED
      ? "any channels"
      : caps.channels.min === caps.channels.max
        ? `${caps.channels.min} ch`
        : `${caps.channels.min}–${caps.channels.max} ch`;
  const formats = caps.formats.filter((f) => (SAMPLE_FORMATS as readonly string[]).includes(f));
  // A converting plugin lists every format ALSA knows; say so rather than list 50.
  return `${rates}, ${channels}, ${caps.formats.length > 10 ? "any format" : formats.join(" ") || "no usable format"}`;
}

function within(range: Range, value: number): boolean {
  return value >= range.min && value <= range.max;
}

/** Parses the block `arecord --dump-hw-params` prints; undefined when it holds no RATE/CHANNELS. */
export function parseHwParams(dump: string): DeviceCapabilities | undefined {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "m").exec(dump)?.[1]?.trim();
  const rates = parseRange(field("RATE"));
  const channels = parseRange(field("CHANNELS"));
  const formats = field("FORMAT")?.split(/\s+/) ?? [];
  if (!rates || !channels) return undefined;
  return { rates, channels, formats };
}

/** "48000", "[44100 48000]" or "(44099 48001]": ALSA's integer intervals, open ends exclusive. */
function parseRange(text: string | undefined): Range | undefined {
  if (text === undefined) return undefined;
  const single = /^(\d+)$/.exec(text);
  if (single) return { min: Number(single[1]), max: Number(single[1]) };
  const interval = /^([[(])(\d+)\s+(\d+)([\])])$/.exec(text);
  if (!interval) return undefined;
  const min = Number(interval[2]) + (interval[1] === "(" ? 1 : 0);
  const max = Number(interval[3]) - (interval[4] === ")" ? 1 : 0);
  return min <= max ? { min, max } : undefined;
}

const DUMP_END = /^-{20}\n[\s\S]*^-{20}$/m;

/**
 * Opens `device` with arecord just long enough to read what it accepts. Undefined when it cannot
 * be opened (busy, missing) or does not answer within `timeoutMs`.
 */
export function probeAlsaDevice(device: string, timeoutMs = 3000): Promise<DeviceCapabilities | undefined> {
  return new Promise((resolve) => {
    const child = spawn("arecord", ["-D", device, "--dump-hw-params", "-d", "1", "-t", "raw", "/dev/null"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    const timer = setTimeout(() => finish(), timeoutMs);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      stderr += text;
      if (DUMP_END.test(stderr)) finish();
    });
    child.once("error", () => finish());
    child.once("close", () => finish());
    function finish() {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      resolve(parseHwParams(stderr));
    }
  });
}
