/**
 * `stream=true`: the transcript as server-sent events, as OpenAI sends them: one
 * `transcript.text.delta` per final as the engine decodes it, then `transcript.text.done` with the
 * whole text and usage (no `[DONE]` sentinel). An engine failure after the 200 went out is an
 * `event: error` whose data carries OpenAI's error object (the SDK throws it as an `APIError`).
 */
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { DecodedSegment } from "./batch-decode.js";
import { OPENAI_ERRORS } from "./openai-errors.js";
import { durationUsage } from "./transcription-formats.js";

export type Decode = (onSegment: (segment: DecodedSegment) => void) => Promise<unknown>;

/** Resolves false when the engine failed (the `event: error` went out). */
export async function sendTranscriptEvents(
  response: ServerResponse,
  headers: Readonly<Record<string, string>>,
  decode: Decode,
  durationMs: number,
  log: Logger,
): Promise<boolean> {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...headers });
  const texts: string[] = [];
  const send = (event: object): void => {
    response.write(`data: ${JSON.stringify(event)}\n\n`);
  };
  try {
    await decode((segment) => {
      send({ type: "transcript.text.delta", delta: texts.length === 0 ? segment.text : ` ${segment.text}` });
      texts.push(segment.text);
    });
  } catch (error) {
    log.warn({ err: error }, "openai transcription: engine failed while streaming");
    const code = "engine_unavailable";
    const failure = { message: "The speech engine failed on this file; try again.", type: OPENAI_ERRORS[code].type };
    response.end(`event: error\ndata: ${JSON.stringify({ error: { ...failure, param: null, code } })}\n\n`);
    return false;
  }
  send({ type: "transcript.text.done", text: texts.join(" "), usage: durationUsage(durationMs) });
  response.end();
  return true;
}
