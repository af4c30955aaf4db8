import { parseArgs } from "node:util";
import type { EarshotClient } from "@earshot/client";
import { SAMPLES_PER_MS } from "@earshot/protocol";
import { CliError } from "../cli-error.js";
import { drained, finalOrClose, isClosed } from "../client-waits.js";
import { openFileAudio } from "../file-audio.js";
import { frames } from "../pcm-frames.js";
import { finishSession, openSession, parseFormat, STREAM_ARG_OPTIONS } from "../stream-session.js";

const HELP = `usage: earshot transcribe <file> [--url ws://127.0.0.1:8787] [--api-key KEY] [--realtime | --speed N] [--format text|json|srt|vtt] [--language en] [--model NAME] [--keyterm TERM]... [--no-reconnect]

  Streams an audio file to a server, converted to 16 kHz mono. WAV (any rate and channels; PCM,
  float, μ-law, A-law) is read directly; mp3, ogg, opus, flac, m4a and anything else ffmpeg reads
  are decoded with ffmpeg (sudo apt-get install ffmpeg). On a terminal, partials and finals show
  live on stderr; the transcript goes to stdout. Files at 8 kHz or less (telephone recordings) are
  sent as μ-law, so the server treats them as telephone audio (its band extension:
  docs/telephony.md, "8 kHz audio").
  --realtime    send at the pace of a live speaker (same as --speed 1)
  --speed N     send N times faster than real time (default: as fast as the server takes it)
  --format      text (default), json (with word timings), srt or vtt
  --api-key     or EARSHOT_API_KEY
  --language    the language spoken (default en); with no --model the server picks its model for it
  --model       a model the server serves by name (e.g. zipformer-zh-int8-2025-06-30)
  --keyterm     a word or phrase to favour; repeatable (sherpa-onnx with modified_beam_search)
  --no-reconnect  end at the first dropped connection (default: reconnect, resume the session and
                  replay buffered audio, so the transcript is the same as without the drop)`;

const FRAME_MS = 100;
/** Half the SDK's default replay buffer. */
const MAX_AHEAD_MS = 30_000;
const FRAME_SAMPLES = FRAME_MS * SAMPLES_PER_MS;

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
  if (!file || extra.length > 0) throw new CliError(`expected one audio file\n${HELP}`);
  if (values.realtime && values.speed !== undefined) throw new CliError("use --realtime or --speed, not both");
  const speed = values.realtime ? 1 : values.speed === undefined ? undefined : Number(values.speed);
  if (speed !== undefined && !(speed > 0)) throw new CliError(`invalid --speed "${values.speed}"`);
  const format = parseFormat(values.format);
  const audio = await openFileAudio(file);

  let client: EarshotClient;
  try {
    // Telephone-band audio goes as what it is, 8 kHz G.711: the server extends its band for the engine.
    client = await openSession(values, audio.sampleRate <= 8000 ? "mulaw" : undefined);
  } catch (error) {
    audio.stop();
    throw error;
  }
  const started = performance.now();
  let at = 0;
  for await (const frame of frames(audio.chunks, FRAME_SAMPLES)) {
    if (speed !== undefined) {
      // A frame goes out once its last sample "would have been spoken".
      const due = started + (at + frame.length) / SAMPLES_PER_MS / speed;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (isClosed(client)) break;
    at += frame.length;
    if (!client.send(frame)) await drained(client);
    // The SDK keeps audio after the last final for replay, up to its buffer (60 s by default). A file
    // sent faster than the engine decodes would overflow it: wait for finals to catch up instead.
    while (client.bufferedMs > MAX_AHEAD_MS && !isClosed(client)) await finalOrClose(client);
  }
  audio.stop();
  return finishSession(client, format);
}
