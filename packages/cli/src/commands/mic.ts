import { parseArgs } from "node:util";
import type { EarshotClient } from "@earshot/client";
import { SAMPLES_PER_MS } from "@earshot/protocol";
import {
  BACKENDS,
  type CaptureBackend,
  installedBackends,
  isBackendName,
  NO_BACKEND_MESSAGE,
} from "../capture-backends.js";
import { chooseCaptureFormat, probeAlsaDevice } from "../capture-format.js";
import { CliError } from "../cli-error.js";
import { drained, isClosed } from "../client-waits.js";
import { listDeviceEntries } from "../devices.js";
import { finishSession, openSession, parseFormat, STREAM_ARG_OPTIONS } from "../stream-session.js";
import { lastLine, openWavPipe, type WavPipe } from "../wav-pipe.js";

const HELP = `usage: earshot mic [--device ID] [--backend alsa|sox|ffmpeg] [--rate HZ] [--channels N] [--duration SECONDS] [--url ws://127.0.0.1:8787] [--api-key KEY] [--format text|json|srt|vtt] [--language en] [--model NAME] [--keyterm TERM]... [--numerals] [--redact pci|ssn|numbers]... [--no-reconnect]

  Streams a microphone until Ctrl-C (or --duration), through arecord, sox or ffmpeg, whichever is
  installed (or --backend). Partials and finals show live on stderr; the transcript goes to stdout.
  --device ID   an id from "earshot devices" (an ALSA name: hw:CARD=PCH,DEV=0, default…); default: default
  --rate, --channels
                capture format, when the device's own cannot be probed; by default the device is
                asked for its native rate, channels and sample format, and earshot converts to 16 kHz
                mono itself (never ALSA's linear plug converter)
  --duration S  stop after S seconds of audio
  --language    the language spoken (default en); with no --model the server picks its model for it
  --model       a model the server serves by name (e.g. zipformer-zh-int8-2025-06-30)
  --keyterm     a word or phrase to favour; repeatable (sherpa-onnx with modified_beam_search)
  --numerals    spoken numbers as digits ("four one one one" → 4111, "twenty five dollars" → $25)
  --redact      hide card numbers (pci), social security numbers (ssn) or every number of 3+ digits
                (numbers) as [REDACTED_…] before the server sends anything; repeatable`;

export async function mic(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      device: { type: "string" },
      backend: { type: "string" },
      rate: { type: "string" },
      channels: { type: "string" },
      duration: { type: "string" },
      ...STREAM_ARG_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const format = parseFormat(values.format);
  const rate = positiveInteger("--rate", values.rate);
  const channels = positiveInteger("--channels", values.channels);
  const durationMs = values.duration === undefined ? undefined : Number(values.duration) * 1000;
  if (durationMs !== undefined && !(durationMs > 0)) throw new CliError(`invalid --duration "${values.duration}"`);
  const backends = installedBackends();
  const backend = pickBackend(backends, values.backend);
  const device = values.device ?? "default";
  if (values.device === undefined && (await listDeviceEntries(backends)).length === 0) {
    throw new CliError('no microphone found: ALSA lists no capture device (see "earshot devices")', { exitCode: 1 });
  }
  // Probing needs arecord, whichever program records.
  const native = backends.some((b) => b.name === "alsa") ? await probeAlsaDevice(device) : undefined;
  const requested = chooseCaptureFormat(native, backend, { rate, channels });

  const client = await openSession(values);
  let capture: WavPipe;
  try {
    capture = await openWavPipe(backend.command, backend.args(device, requested), (exit) => {
      const detail = exit.error?.message ?? lastLine(exit.stderr);
      return new CliError(`cannot capture from "${device}" with ${backend.command}${detail ? `: ${detail}` : ""}`, {
        exitCode: 1,
      });
    });
  } catch (error) {
    await client.close();
    throw error;
  }
  const { info } = capture;
  process.stderr.write(
    `earshot: capturing "${device}" with ${backend.command} at ${info.sampleRate} Hz, ${info.channels} ch, ` +
      `${info.bitsPerSample}-bit ${info.encoding}, converted to 16 kHz mono (Ctrl-C to stop)\n`,
  );
  const onInterrupt = () => capture.stop();
  process.once("SIGINT", onInterrupt);
  try {
    await stream(
      capture,
      client,
      durationMs === undefined ? Number.POSITIVE_INFINITY : Math.round(durationMs * SAMPLES_PER_MS),
    );
  } finally {
    process.off("SIGINT", onInterrupt);
  }
  const exit = await capture.exit;
  const code = await finishSession(client, format);
  // Killed by a signal: by us, when the stream closed first (finishSession reports that).
  if (!capture.stopped && exit.signal === null && exit.code !== 0) {
    const detail = lastLine(exit.stderr);
    process.stderr.write(`earshot: ${backend.command} stopped recording${detail ? `: ${detail}` : ""}\n`);
    return 1;
  }
  return code;
}

/** Sends the capture until it ends or `maxSamples` (16 kHz) have gone out, respecting backpressure. */
async function stream(capture: WavPipe, client: EarshotClient, maxSamples: number): Promise<void> {
  let sent = 0;
  for await (const chunk of capture.chunks) {
    if (isClosed(client)) break;
    const pcm = chunk.subarray(0, maxSamples - sent);
    sent += pcm.length;
    if (!client.send(pcm)) await drained(client);
    if (sent >= maxSamples) {
      capture.stop();
      break;
    }
  }
}

function pickBackend(installed: readonly CaptureBackend[], wanted: string | undefined): CaptureBackend {
  if (installed.length === 0) throw new CliError(NO_BACKEND_MESSAGE, { exitCode: 1 });
  if (wanted === undefined) return installed[0] as CaptureBackend;
  if (!isBackendName(wanted)) throw new CliError(`invalid --backend "${wanted}"; choose one of: alsa, sox, ffmpeg`);
  const backend = installed.find((b) => b.name === wanted);
  if (!backend) {
    throw new CliError(
      `--backend ${wanted}: not installed (Debian: sudo apt-get install ${BACKENDS.find((b) => b.name === wanted)?.debianPackages})`,
      { exitCode: 1 },
    );
  }
  return backend;
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`invalid ${flag} "${value}"`);
  return n;
}
