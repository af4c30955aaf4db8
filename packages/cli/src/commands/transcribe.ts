import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AudioFormatError, readWav, toMono16k } from "@earshot/audio";
import type { EarshotClient } from "@earshot/client";
import { CliError } from "../cli-error.js";
import { finishSession, openSession, parseFormat, STREAM_ARG_OPTIONS } from "../stream-session.js";

const HELP = `usage: earshot transcribe <file.wav> [--url ws://127.0.0.1:8787] [--api-key KEY] [--realtime | --speed N] [--format text|json|srt|vtt] [--language en] [--no-reconnect]

  Streams a WAV file (any rate, channels, PCM/float/μ-law/A-law; converted to 16 kHz mono) to a
  server. On a terminal, partials and finals show live on stderr; the transcript goes to stdout.
  --realtime    send at the pace of a live speaker (same as --speed 1)
  --speed N     send N times faster than real time (default: as fast as the server takes it)
  --format      text (default), json (with word timings), srt or vtt
  --api-key     or EARSHOT_API_KEY
  --no-reconnect  end at the first dropped connection (default: reconnect, resume the session and
                  replay buffered audio, so the transcript is the same as without the drop)`;

const FRAME_MS = 100;
/** Half the SDK's default replay buffer. */
const MAX_AHEAD_MS = 30_000;
const FRAME_SAMPLES = 16 * FRAME_MS;

export async function transcribe(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      realtime: { type: "boolean", default: false },
      speed: { type: "string" },
      ...STREAM_ARG_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new CliError(`expected one WAV file\n${HELP}`);
  if (values.realtime && values.speed !== undefined) throw new CliError("use --realtime or --speed, not both");
  const speed = values.realtime ? 1 : values.speed === undefined ? undefined : Number(values.speed);
  if (speed !== undefined && !(speed > 0)) throw new CliError(`invalid --speed "${values.speed}"`);
  const format = parseFormat(values.format);
  const pcm = loadAudio(file);

  const client = await openSession(values);
  const started = performance.now();
  for (let at = 0; at < pcm.length; at += FRAME_SAMPLES) {
    if (speed !== undefined) {
      // A frame goes out once its last sample "would have been spoken".
      const due = started + (at + FRAME_SAMPLES) / 16 / speed;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (client.state === "closed") break;
    if (!client.send(pcm.subarray(at, at + FRAME_SAMPLES))) await drained(client);
    // The SDK keeps audio after the last final for replay, up to its buffer (60 s by default). A file
    // sent faster than the engine decodes would overflow it: wait for finals to catch up instead.
    while (client.bufferedMs > MAX_AHEAD_MS && !isClosed(client)) await finalOrClose(client);
  }
  return finishSession(client, format);
}

/** A function, not an inline test: TypeScript would keep the narrowing from the loop's `break`. */
const isClosed = (client: EarshotClient): boolean => client.state === "closed";

/** Resolves at the next final (which lets the replay buffer forget audio), a state change, or 1 s. */
function finalOrClose(client: EarshotClient): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(), 1000);
    const offFinal = client.on("final", () => done());
    const offState = client.on("state", () => done());
    function done() {
      clearTimeout(timer);
      offFinal();
      offState();
      resolve();
    }
  });
}

/** Resolves when the client's send queue empties, or the connection ends. */
function drained(client: EarshotClient): Promise<void> {
  return new Promise((resolve) => {
    const offDrain = client.once("drain", () => done());
    const offState = client.on("state", ({ to }) => {
      if (to === "closed") done();
    });
    function done() {
      offDrain();
      offState();
      resolve();
    }
  });
}

/** The file as 16 kHz mono PCM16, or a one-line CliError (exit 2). */
export function loadAudio(file: string): Int16Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const wav = readWav(bytes);
    return toMono16k({ sampleRate: wav.sampleRate, channels: wav.samples });
  } catch (error) {
    if (error instanceof AudioFormatError) throw new CliError(`${file}: ${error.message}`);
    throw error;
  }
}
