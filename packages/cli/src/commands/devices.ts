import { parseArgs } from "node:util";
import { findExecutable, installedBackends, NO_BACKEND_MESSAGE } from "../capture-backends.js";
import { describeCapabilities } from "../capture-format.js";
import { CliError } from "../cli-error.js";
import { type CaptureDevice, listCaptureDevices } from "../devices.js";

const HELP = `usage: earshot devices [--json]

  Lists the capture devices of every installed recorder (arecord, sox, ffmpeg): an id to pass to
  "earshot mic --device <id>", the backends that open it, its name and, where arecord can probe
  it, the rates, channels and sample formats it takes natively.
  --json   the same as JSON: { backends: [...], devices: [...] }`;

const NO_DEVICE_MESSAGE =
  "no capture device found: ALSA lists none (no sound card, or no access to /dev/snd: add the user to the audio group; arecord -l lists sound cards)";

export async function devices(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const backends = installedBackends();
  if (backends.length === 0) throw new CliError(NO_BACKEND_MESSAGE, { exitCode: 1 });
  const found = await listCaptureDevices(backends);
  if (values.json) {
    const listed = {
      backends: backends.map((b) => ({ name: b.name, command: b.command, path: findExecutable(b.command) })),
      devices: found,
    };
    process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
  } else if (found.length > 0) {
    process.stdout.write(table(found, backends.map((b) => b.command).join(", ")));
  }
  if (found.length === 0) {
    const soxOnly = backends.every((b) => b.name === "sox");
    // sox opens named ALSA devices (~/.asoundrc, sound servers) but cannot list them.
    const hint = soxOnly ? "; sox cannot list named ALSA devices: install alsa-utils to see them" : "";
    throw new CliError(`${NO_DEVICE_MESSAGE}${hint}`, { exitCode: 1 });
  }
  return 0;
}

function table(found: readonly CaptureDevice[], commands: string): string {
  const idWidth = Math.max(...found.map((d) => d.id.length), 2);
  const nameWidth = Math.min(Math.max(...found.map((d) => d.name.length), 4), 48);
  const lines = found.map((d) => {
    const name = d.name.length > nameWidth ? `${d.name.slice(0, nameWidth - 1)}…` : d.name;
    const native = d.native ? describeCapabilities(d.native) : "not probed";
    const capture = d.capture ? `captures ${d.capture.rate} Hz ${d.capture.channels} ch ${d.capture.sampleFormat}` : "";
    return `  ${d.id.padEnd(idWidth)}  ${name.padEnd(nameWidth)}  ${native}${capture ? `; ${capture}` : ""}`;
  });
  return [
    `Capture devices (ALSA names; ${commands} open them):`,
    ...lines,
    "",
    "Stream one with: earshot mic --device <id> [--backend alsa|sox|ffmpeg]",
    "",
  ].join("\n");
}
