/**
 * `POST /v1/audio/transcriptions`, OpenAI's batch transcription, as a thin adapter: the key and
 * per-key limits of stream connections (a transcription counts as a stream of its key while it
 * decodes, in a cluster across nodes), the admission of a new stream, one engine stream for the
 * file (batch-decode.ts), and the answer in the asked `response_format`, or as server-sent events
 * (transcript-events.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AudioFormatError, readWav, toMono16k } from "@earshot/audio";
import type { Engine } from "@earshot/engines";
import type { Logger } from "pino";
import { credentialFromRequest, type KeyRing } from "../../auth.js";
import type { Capacity } from "../../capacity.js";
import type { ConnectionCounts } from "../../connection-counts.js";
import type { KeyStreamLimit } from "../../key-stream-limit.js";
import type { FileDecoder } from "../../server-options.js";
import { decodeRecording } from "./batch-decode.js";
import { type FormFile, readForm } from "./multipart-form.js";
import { OpenAiError, sendOpenAiError } from "./openai-errors.js";
import type { OpenAiMetrics } from "./openai-metrics.js";
import { type Decode, sendTranscriptEvents } from "./transcript-events.js";
import { renderTranscript } from "./transcription-formats.js";
import { parseTranscriptionRequest } from "./transcription-request.js";

export const TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions";
/** OpenAI's own limit for whisper-1 uploads: the default of `maxUploadBytes`. */
export const MAX_FILE_BYTES = 25 * 1024 * 1024;
const TOO_MANY_STREAMS_RETRY_AFTER_S = 5;

export interface TranscriptionsContext {
  readonly engine: Engine;
  readonly keys: KeyRing;
  readonly capacity: Capacity;
  /** For the quick look before the upload is read. */
  readonly connections: ConnectionCounts;
  readonly keyStreamLimit: KeyStreamLimit;
  /** For uploads that are not WAV; without one they are refused with 415. */
  readonly fileDecoder: FileDecoder | undefined;
  /** Larger files are refused with 413. */
  readonly maxUploadBytes: number;
  readonly metrics: OpenAiMetrics;
  readonly log: Logger;
}

/** Resolves once answered; rejects only on a bug (the server's request guard answers 500 then). */
export async function handleTranscriptions(
  request: IncomingMessage,
  response: ServerResponse,
  context: TranscriptionsContext,
): Promise<void> {
  try {
    const audioMs = await transcribe(request, response, context);
    if (audioMs === undefined) context.metrics.refused("engine_unavailable");
    else context.metrics.transcribed(audioMs);
  } catch (error) {
    if (!(error instanceof OpenAiError)) throw error;
    context.metrics.refused(error.code);
    if (request.destroyed && !request.complete) {
      response.destroy();
      return;
    }
    if (!request.complete) {
      // Whatever is left of the body is not read: ask the client not to reuse this connection.
      response.setHeader("connection", "close");
      request.resume();
    }
    sendOpenAiError(response, error);
  }
}

/**
 * Answers, and resolves with the length of the audio transcribed, in ms (undefined: the engine
 * failed after a streamed answer began); rejects with an `OpenAiError` to answer.
 */
async function transcribe(
  request: IncomingMessage,
  response: ServerResponse,
  context: TranscriptionsContext,
): Promise<number | undefined> {
  const { engine, keys, capacity, connections, keyStreamLimit, log } = context;
  if (request.method !== "POST") {
    throw new OpenAiError("method_not_allowed", "Use POST.", { param: null, headers: { allow: "POST" } });
  }
  const key = credentialFromRequest(request);
  if (!keys.accepts(key)) {
    throw new OpenAiError("invalid_api_key", "Missing or incorrect API key: send Authorization: Bearer <key>.", {
      param: null,
      headers: {
        "www-authenticate": 'Bearer realm="earshot"',
      },
    });
  }
  const apiKey = key as string;
  if (!engine.ready) throw new OpenAiError("engine_unavailable", "The speech engine is not loaded yet.");
  const tooMany = connections.refusal(apiKey);
  if (tooMany) throw tooManyStreams(tooMany);
  // A quick look before taking the upload; the stream is admitted for real once the file is in.
  refuseOverCapacity(capacity.refusal("after_release")?.message, capacity);
  const form = await readForm(request, context.maxUploadBytes);
  if (!form.file || form.file.bytes.byteLength === 0) {
    throw new OpenAiError("missing_file", "file is required: send the audio as the multipart part named file.", {
      param: "file",
    });
  }
  const options = parseTranscriptionRequest(form, engine);
  const counted = await keyStreamLimit.count(apiKey, 1);
  if (!counted.ok) throw tooManyStreams(counted.why);
  try {
    const pcm = await decodeFile(form.file, context.fileDecoder);
    refuseOverCapacity(capacity.admitNewSession(apiKey)?.message, capacity);
    const headers = options.ignored.length > 0 ? { "x-earshot-ignored-fields": options.ignored.join(", ") } : {};
    const durationMs = pcm.length / 16;
    if (options.stream) {
      const decode: Decode = (onSegment) => decodeRecording(engine, options.engine, pcm, onSegment);
      return (await sendTranscriptEvents(response, headers, decode, durationMs, log)) ? durationMs : undefined;
    }
    let segments: Awaited<ReturnType<typeof decodeRecording>>;
    try {
      segments = await decodeRecording(engine, options.engine, pcm);
    } catch (error) {
      log.warn({ err: error }, "openai transcription: engine failed");
      throw new OpenAiError("engine_unavailable", "The speech engine failed on this file; try again.");
    }
    const rendered = renderTranscript({
      segments,
      durationMs,
      language: options.engine.language,
      format: options.responseFormat,
      granularities: options.granularities,
    });
    response
      .writeHead(200, {
        "content-type": rendered.contentType,
        "content-length": Buffer.byteLength(rendered.body),
        ...headers,
      })
      .end(rendered.body);
    return durationMs;
  } finally {
    counted.release();
  }
}

function tooManyStreams(why: string): OpenAiError {
  return new OpenAiError("too_many_streams", why, {
    param: null,
    headers: { "retry-after": String(TOO_MANY_STREAMS_RETRY_AFTER_S) },
  });
}

function refuseOverCapacity(refusal: string | undefined, capacity: Capacity): void {
  if (refusal === undefined) return;
  throw new OpenAiError("over_capacity", refusal, {
    param: null,
    headers: { "retry-after": String(capacity.retryAfterSeconds) },
  });
}

/**
 * A WAV file (any rate, channels, PCM, float, G.711) as 16 kHz mono PCM16; anything else, or a WAV
 * encoding we do not read, through the server's file decoder (ffmpeg) when it has one.
 */
async function decodeFile(file: FormFile, fileDecoder: FileDecoder | undefined): Promise<Int16Array> {
  const { bytes } = file;
  const isWav =
    bytes.length >= 12 && bytes.toString("latin1", 0, 4) === "RIFF" && bytes.toString("latin1", 8, 12) === "WAVE";
  if (isWav) {
    try {
      const wav = readWav(bytes);
      return toMono16k({ sampleRate: wav.sampleRate, channels: wav.samples });
    } catch (error) {
      if (!(error instanceof AudioFormatError)) throw error;
      if (error.code !== "unsupported_wav_format")
        throw new OpenAiError("invalid_file", error.message, { param: "file" });
      if (!fileDecoder) throw new OpenAiError("unsupported_file_format", error.message, { param: "file" });
    }
  }
  if (!fileDecoder) {
    throw new OpenAiError(
      "unsupported_file_format",
      "Only WAV files are supported by this server (it has no ffmpeg); convert the audio to WAV.",
      { param: "file" },
    );
  }
  try {
    return await fileDecoder(bytes);
  } catch (error) {
    throw new OpenAiError(
      "unsupported_file_format",
      `The file is not audio this server can decode: ${(error as Error).message}`,
      {
        param: "file",
      },
    );
  }
}
