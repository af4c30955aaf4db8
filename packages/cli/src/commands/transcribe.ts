import { parseArgs } from "node:util";
import { type Encoding, SAMPLES_PER_MS } from "@earshot/protocol";
import { type AudioOutlet, channelsOutlet, clientOutlet } from "../audio-outlet.js";
import { finishChannelSession, MAX_SPLIT_CHANNELS, openChannelSession, speakerLabels } from "../channel-session.js";
import { CliError } from "../cli-error.js";
import { openFileAudio } from "../file-audio.js";
import type { Format } from "../formats.js";
import { frames } from "../pcm-frames.js";
import { openSession, parseFormat, STREAM_ARG_OPTIONS, type StreamArgs } from "../stream-session.js";

const HELP = `usage: earshot transcribe <file> [--url ws://127.0.0.1:8787] [--api-key KEY] [--realtime | --speed N] [--format text|json|srt|vtt] [--channels mix|split [--speakers A,B]] [--language en] [--model NAME] [--keyterm TERM]... [--numerals] [--redact pci|ssn|numbers]... [--no-reconnect]

  Streams an audio file to a server, converted to 16 kHz mono. WAV (any rate and channels; PCM,
  float, μ-law, A-law) is read directly; mp3, ogg, opus, flac, m4a and anything else ffmpeg reads
  are decoded with ffmpeg (sudo apt-get install ffmpeg). On a terminal, partials and finals show
  live on stderr; the transcript goes to stdout. Files at 8 kHz or less (telephone recordings) are
  sent as μ-law, so the server treats them as telephone audio (its band extension:
  docs/telephony.md, "8 kHz audio").
  --realtime    send at the pace of a live speaker (same as --speed 1)
  --speed N     send N times faster than real time (default: as fast as the server takes it)
  --format      text (default), json (with word timings), srt or vtt
  --channels    mix (default): the channels averaged into one stream. split: one stream per channel
                (up to 8; a stereo call recording's two sides), finals in time order labelled by
                speaker: "[agent] text" lines, json with channel and speaker, srt "[agent]" and vtt
                "<v agent>" cues. A mono file is one channel
  --speakers    with --channels split: labels by channel, comma-separated (default "channel 0",
                "channel 1", ...), e.g. --speakers customer,agent
  --api-key     or EARSHOT_API_KEY
  --language    the language spoken (default en); with no --model the server picks its model for it
  --model       a model the server serves by name (e.g. zipformer-zh-int8-2025-06-30)
  --keyterm     a word or phrase to favour; repeatable (sherpa-onnx with modified_beam_search)
  --numerals    spoken numbers as digits ("four one one one" → 4111, "twenty five dollars" → $25)
  --redact      hide card numbers (pci), social security numbers (ssn) or every number of 3+ digits
                (numbers) as [REDACTED_…] before the server sends anything; repeatable
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
      channels: { type: "string", default: "mix" },
      speakers: { type: "string" },
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
  const split = parseChannels(values.channels) === "split";
  if (values.speakers !== undefined && !split) throw new CliError("--speakers needs --channels split");
  const audio = await openFileAudio(file, { channels: split ? "keep" : "mix" });
  const channels = split ? audio.channels : 1;

  let outlet: AudioOutlet;
  try {
    if (channels > MAX_SPLIT_CHANNELS) {
      throw new CliError(`${file} has ${channels} channels; --channels split takes up to ${MAX_SPLIT_CHANNELS}`);
    }
    // Telephone-band audio goes as what it is, 8 kHz G.711: the server extends its band for the engine.
    const encoding = audio.sampleRate <= 8000 ? "mulaw" : undefined;
    outlet = await open(values, format, split ? speakerLabels(values.speakers, channels) : undefined, encoding);
  } catch (error) {
    audio.stop();
    throw error;
  }
  const started = performance.now();
  let at = 0;
  // Frames hold the same span of every channel, so each channel's stream gets whole frames.
  for await (const frame of frames(audio.chunks, FRAME_SAMPLES * channels)) {
    const samples = frame.length / channels;
    if (speed !== undefined) {
      // A frame goes out once its last sample "would have been spoken".
      const due = started + (at + samples) / SAMPLES_PER_MS / speed;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (outlet.closed()) break;
    at += samples;
    if (!outlet.send(frame)) await outlet.drained();
    // The SDK keeps audio after the last final for replay, up to its buffer (60 s by default). A file
    // sent faster than the engine decodes would overflow it: wait for finals to catch up instead.
    while (outlet.bufferedMs() > MAX_AHEAD_MS && !outlet.closed()) await outlet.progressed();
  }
  audio.stop();
  return outlet.finish();
}

function parseChannels(value: string): "mix" | "split" {
  if (value !== "mix" && value !== "split") throw new CliError(`invalid --channels "${value}"; choose mix or split`);
  return value;
}

/** One stream (mixed down), or one per channel when `speakers` labels them. */
async function open(
  args: StreamArgs,
  format: Format,
  speakers: string[] | undefined,
  encoding: Encoding | undefined,
): Promise<AudioOutlet> {
  if (speakers === undefined) return clientOutlet(await openSession(args, encoding), format);
  return channelsOutlet(await openChannelSession(args, speakers, encoding), (client) =>
    finishChannelSession(client, format),
  );
}
