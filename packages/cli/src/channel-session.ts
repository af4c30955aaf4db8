/**
 * `transcribe --channels split`: each channel of a recording (a call's two sides) transcribed on its
 * own, through the SDK's MultichannelClient (a stereo file on one connection when the server takes
 * `channels: 2`, else one stream per channel); finals labelled by speaker, live on a terminal and in
 * the transcript written at the end, in time order across channels.
 */
import { MultichannelClient } from "@earshot/client";
import type { Encoding } from "@earshot/protocol";
import { CliError } from "./cli-error.js";
import type { Format } from "./formats.js";
import { formatSpeakerTranscript, type SpeakerSegment } from "./speaker-formats.js";
import {
  clientOptions,
  connectOrExit,
  LiveView,
  reconnectNote,
  reportLoss,
  type StreamArgs,
} from "./stream-session.js";

/** Each channel is a stream the server counts against the key's limit (two on one connection count two): a recording with more is refused. */
export const MAX_SPLIT_CHANNELS = 8;

/**
 * The label of each of `channels` channels: `--speakers customer,agent` in channel order, and
 * "channel N" for channels it does not name. Names beyond the channels are left unused.
 */
export function speakerLabels(option: string | undefined, channels: number): string[] {
  const named = option === undefined ? [] : option.split(",").map((s) => s.trim());
  if (named.some((s) => s === "")) throw new CliError(`invalid --speakers "${option}": a label is empty`);
  return Array.from({ length: channels }, (_, c) => named[c] ?? `channel ${c}`);
}

/** Opens the channels' stream(s), with a labelled live view on stderr when stderr is a terminal. */
export async function openChannelSession(
  options: StreamArgs,
  speakers: readonly string[],
  encoding?: Encoding,
): Promise<MultichannelClient> {
  const client = new MultichannelClient({ ...clientOptions(options, encoding), channels: speakers.length, speakers });
  const live = process.stderr.isTTY ? new LiveView() : undefined;
  const label = (tag: { speaker?: string }) => `[${tag.speaker}] `;
  client.on("partial", (t) => live?.partial(`${label(t)}${t.text}`));
  client.on("final", (t) => {
    if (t.text) live?.final(`${label(t)}${t.text}`);
  });
  client.on("warning", (w) => live?.note(`${label(w)}warning ${w.code}: ${w.message}`));
  client.on("error", (e) => live?.note(`${label(e)}error ${e.error.code}: ${e.error.message}`));
  client.on("state", (s) => {
    const note = reconnectNote(s);
    if (note) live?.note(`${label(s)}${note}`);
  });
  client.on("audio_lost", (l) => reportLoss(l, live, label(l)));
  await connectOrExit(client, options.url);
  return client;
}

/** Closes every channel (their last finals arrive first) and writes the labelled transcript to stdout. */
export async function finishChannelSession(client: MultichannelClient, format: Format): Promise<number> {
  const result = await client.close();
  if (process.stderr.isTTY) process.stderr.write("\x1b[2K\r");
  const segments = client.transcript.segments as SpeakerSegment[];
  const audioMs = Math.max(0, ...result.channels.map((r) => r.audioMs ?? 0), ...segments.map((s) => s.endMs));
  const speakers = client.speakers.map((s, c) => s ?? `channel ${c}`);
  process.stdout.write(formatSpeakerTranscript(format, segments, speakers, audioMs));
  if (result.lostMs > 0) process.stderr.write(`earshot: ${result.lostMs} ms of audio in total got no transcript\n`);
  let code = 0;
  result.channels.forEach((r, c) => {
    if (r.code === 1000) return;
    process.stderr.write(`earshot: [${speakers[c]}] stream ended abnormally (close ${r.code} ${r.reason})\n`);
    code = 1;
  });
  return code;
}
