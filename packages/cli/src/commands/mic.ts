import { parseArgs } from "node:util";
import { alsaCaptureDevices, findBackend, startCapture } from "../capture.js";
import { CliError } from "../cli-error.js";
import { finishSession, openSession, parseFormat, STREAM_ARG_OPTIONS } from "../stream-session.js";

const HELP = `usage: earshot mic [--device ID] [--url ws://127.0.0.1:8787] [--api-key KEY] [--format text|json|srt|vtt] [--language en] [--no-reconnect]

  Streams the default microphone (or --device, an ALSA name such as hw:1,0) until Ctrl-C, using
  arecord, sox or ffmpeg, whichever is installed. Partials and finals show live on stderr; the
  transcript goes to stdout when you stop.`;

export async function mic(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      device: { type: "string" },
      ...STREAM_ARG_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const format = parseFormat(values.format);
  const backend = findBackend();
  if (backend.name === "alsa" && values.device === undefined && alsaCaptureDevices().length === 0) {
    throw new CliError("no microphone found: ALSA lists no capture device (arecord -l)", 1);
  }
  const client = await openSession(values);
  const recorder = startCapture(backend, values.device);
  let stderr = "";
  recorder.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  recorder.stdout?.on("data", (chunk: Buffer) => client.send(chunk));
  process.stderr.write(`earshot: listening with ${backend.command} (Ctrl-C to stop)\n`);

  const exitCode = await new Promise<number | null>((resolve) => {
    process.once("SIGINT", () => {
      recorder.kill("SIGTERM");
      resolve(null);
    });
    recorder.once("error", () => resolve(-1));
    recorder.once("exit", (code) => resolve(code ?? 0));
  });
  if (exitCode !== null && exitCode !== 0) {
    await client.close();
    const detail = stderr.trim().split("\n").at(-1) ?? "";
    throw new CliError(`no microphone: ${backend.command} failed${detail ? ` (${detail})` : ""}`, 1);
  }
  return finishSession(client, format);
}
