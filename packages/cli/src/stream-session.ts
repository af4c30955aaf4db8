/**
 * What `transcribe` and `mic` share: a connected client, a live view of partials and finals on a
 * terminal, and the transcript written in the chosen format when the stream ends.
 */
import { type AudioLostEvent, EarshotClient, type EarshotClientError, type StateChange } from "@earshot/client";
import type { Encoding } from "@earshot/protocol";
import { CliError } from "./cli-error.js";
import { FORMATS, type Format, formatTranscript, isFormat } from "./formats.js";

export const DEFAULT_URL = "ws://127.0.0.1:8787";

/** The parseArgs options every streaming command takes. */
export const STREAM_ARG_OPTIONS = {
  url: { type: "string", default: process.env.EARSHOT_URL ?? DEFAULT_URL },
  "api-key": { type: "string" },
  format: { type: "string", default: "text" },
  language: { type: "string", default: "en" },
  model: { type: "string" },
  keyterm: { type: "string", multiple: true },
  numerals: { type: "boolean", default: false },
  redact: { type: "string", multiple: true },
  "no-reconnect": { type: "boolean", default: false },
  help: { type: "boolean", short: "h" },
} as const;

/** What parseArgs gives for STREAM_ARG_OPTIONS: the options `openSession` needs. */
export interface StreamArgs {
  readonly url: string;
  readonly "api-key"?: string | undefined;
  readonly language: string;
  /** A model the server serves (`earshot serve` lists its engines; neural models by name). */
  readonly model?: string | undefined;
  /** Words to favour (sherpa-onnx with modified_beam_search; others refuse with keyterms_unsupported). */
  readonly keyterm?: string[] | undefined;
  /** Spoken numbers as digits in finals (`numerals`). */
  readonly numerals?: boolean | undefined;
  /** What to hide: pci, ssn, numbers (`redact`); the server refuses other names (unsupported_redaction). */
  readonly redact?: string[] | undefined;
  /** Otherwise the client reconnects (resuming the session, replaying buffered audio) after a drop. */
  readonly "no-reconnect": boolean;
}

export function parseFormat(value: string): Format {
  if (!isFormat(value)) throw new CliError(`invalid --format "${value}"; choose one of: ${FORMATS.join(", ")}`);
  return value;
}

/**
 * What every streaming command's client gets from its arguments: server, key, stream config; and
 * `encoding`, the wire encoding, when not the SDK's default (audio is given as 16 kHz PCM either way).
 */
export function clientOptions(options: StreamArgs, encoding?: Encoding) {
  const apiKey = options["api-key"] ?? process.env.EARSHOT_API_KEY;
  if (!apiKey) throw new CliError("no API key: pass --api-key or set EARSHOT_API_KEY (serve prints one)");
  return {
    url: options.url,
    apiKey,
    config: {
      language: options.language,
      timestamp_granularity: "word" as const,
      ...(options.model === undefined ? {} : { model: options.model }),
      ...(options.keyterm === undefined ? {} : { keyterms: options.keyterm }),
      ...(options.numerals ? { numerals: true } : {}),
      ...(options.redact === undefined ? {} : { redact: options.redact }),
    },
    reconnect: !options["no-reconnect"],
    ...(encoding === undefined ? {} : { encoding }),
  };
}

/** Opens a session, with the live view on stderr when stderr is a terminal. */
export async function openSession(options: StreamArgs, encoding?: Encoding): Promise<EarshotClient> {
  const client = new EarshotClient(clientOptions(options, encoding));
  const live = process.stderr.isTTY ? new LiveView() : undefined;
  client.on("partial", (t) => live?.partial(t.text));
  client.on("final", (t) => live?.final(t.text));
  client.on("warning", (w) => live?.note(`warning ${w.code}: ${w.message}`));
  client.on("error", (e) => live?.note(`error ${e.code}: ${e.message}`));
  client.on("state", (s) => {
    const note = reconnectNote(s);
    if (note) live?.note(note);
  });
  // Lost audio is never silent, terminal or not.
  client.on("audio_lost", (l) => reportLoss(l, live));
  await connectOrExit(client, options.url);
  return client;
}

/** Connects `client`; a refusal becomes the CLI's error (exit 1) with the server's code. */
export async function connectOrExit(client: { connect(): Promise<unknown> }, url: string): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    const e = error as EarshotClientError;
    throw new CliError(`cannot stream to ${url}: ${e.code ? `${e.code}: ` : ""}${e.message}`, { exitCode: 1 });
  }
}

/** What a reconnecting client's state change means to a person watching, if anything. */
export function reconnectNote(s: StateChange): string | undefined {
  if (s.to === "reconnecting") return `reconnecting (attempt ${s.attempt}, in ${s.delayMs} ms): ${s.error?.message}`;
  if (s.from === "reconnecting" && s.to === "open") {
    return s.resumed ? "reconnected: session resumed" : "reconnected: new session after the last final";
  }
  return undefined;
}

export function reportLoss(loss: AudioLostEvent, live: LiveView | undefined, who = ""): void {
  const what = loss.reason === "overflow" ? "dropped from the replay buffer (sent as silence)" : "got no final";
  process.stderr.write(`${live ? "\x1b[2K\r" : ""}earshot: ${who}${loss.lostMs} ms of audio ${what}\n`);
}

/** Closes the stream (the last finals arrive first) and writes the transcript to stdout. */
export async function finishSession(client: EarshotClient, format: Format): Promise<number> {
  const result = await client.close();
  if (process.stderr.isTTY) process.stderr.write("\x1b[2K\r");
  const segments = client.transcript.segments;
  process.stdout.write(formatTranscript(format, segments, result.audioMs ?? segments.at(-1)?.endMs ?? 0));
  if (result.lostMs > 0) process.stderr.write(`earshot: ${result.lostMs} ms of audio in total got no transcript\n`);
  if (result.code !== 1000) {
    process.stderr.write(`earshot: stream ended abnormally (close ${result.code} ${result.reason})\n`);
    return 1;
  }
  return 0;
}

/** One line that shows the partial in progress, replaced by each final as it lands. */
export class LiveView {
  partial(text: string): void {
    const width = (process.stderr.columns ?? 80) - 3;
    const shown = text.length > width ? `…${text.slice(text.length - width + 1)}` : text;
    process.stderr.write(`\x1b[2K\r\x1b[2m${shown}\x1b[0m`);
  }

  final(text: string): void {
    if (text) process.stderr.write(`\x1b[2K\r${text}\n`);
  }

  note(text: string): void {
    process.stderr.write(`\x1b[2K\r${text}\n`);
  }
}
