/**
 * Deepgram's server messages (asyncapi `ListenV1Results`, `ListenV1Metadata`,
 * `ListenV1UtteranceEnd`, `ListenV1SpeechStarted`) made from earshot's. Times are seconds from the
 * start of the stream, as floats; a channel is `[index, count]` (mono: `[0, 1]`).
 */
import { createHash } from "node:crypto";
import type { TranscriptMessage } from "@earshot/protocol";

/** Who answers: the same on every message of a stream. */
export interface ListenIdentity {
  readonly requestId: string;
  /** The model the client asked for (`nova-3`…), or the earshot model it named. */
  readonly modelName: string;
  /** A stable UUID-shaped id for that name (clients may key on it; Deepgram's are UUIDs). */
  readonly modelUuid: string;
}

export function listenIdentity(requestId: string, modelName: string): ListenIdentity {
  const hex = createHash("sha256").update(`earshot-model:${modelName}`).digest("hex");
  const modelUuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return { requestId, modelName, modelUuid };
}

export interface DeepgramWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word: string;
}

export interface DeepgramResults {
  type: "Results";
  channel_index: [number, number];
  duration: number;
  start: number;
  is_final: boolean;
  speech_final: boolean;
  from_finalize: boolean;
  channel: { alternatives: { transcript: string; confidence: number; words: DeepgramWord[] }[] };
  metadata: {
    request_id: string;
    model_uuid: string;
    model_info: { name: string; version: string; arch: string };
  };
}

export interface DeepgramMetadata {
  type: "Metadata";
  transaction_key: "deprecated";
  request_id: string;
  sha256: string;
  created: string;
  duration: number;
  channels: number;
  models: string[];
  model_info: Record<string, { name: string; version: string; arch: string }>;
}

/** Where a channel is: its index among `count`, and what the client asked of results. */
export interface ResultsContext extends ListenIdentity {
  readonly channel: [number, number];
  /** False with `endpointing=false`: `speech_final` is then never true. */
  readonly endpointing: boolean;
  /** This final was cut by the client's `Finalize`. */
  readonly fromFinalize: boolean;
}

const seconds = (ms: number): number => Math.round(ms) / 1000;

export function results(message: TranscriptMessage, context: ResultsContext): DeepgramResults {
  const words = (message.words ?? []).map((word) => ({
    word: word.word.toLowerCase(),
    start: seconds(word.start_ms),
    end: seconds(word.end_ms),
    confidence: word.confidence,
    punctuated_word: word.word,
  }));
  const confidence = words.length === 0 ? 0 : words.reduce((sum, word) => sum + word.confidence, 0) / words.length;
  return {
    type: "Results",
    channel_index: context.channel,
    duration: seconds(message.end_ms - message.start_ms),
    start: seconds(message.start_ms),
    is_final: message.is_final,
    speech_final: message.is_final && context.endpointing && message.speech_final === true,
    from_finalize: message.is_final && context.fromFinalize,
    channel: { alternatives: [{ transcript: message.text, confidence, words }] },
    metadata: { request_id: context.requestId, model_uuid: context.modelUuid, model_info: modelInfo(context) },
  };
}

export function utteranceEnd(lastWordEndMs: number, channel: [number, number]) {
  return { type: "UtteranceEnd" as const, channel, last_word_end: seconds(lastWordEndMs) };
}

export function speechStarted(startMs: number, channel: [number, number]) {
  return { type: "SpeechStarted" as const, channel, timestamp: seconds(startMs) };
}

/** The summary sent after `CloseStream`: `sha256` of the audio bytes received, `duration` in seconds. */
export function metadata(
  identity: ListenIdentity,
  summary: { sha256: string; createdAt: Date; audioMs: number; channels: number },
): DeepgramMetadata {
  const uuid = identity.modelUuid;
  return {
    type: "Metadata",
    transaction_key: "deprecated",
    request_id: identity.requestId,
    sha256: summary.sha256,
    created: summary.createdAt.toISOString(),
    duration: seconds(summary.audioMs),
    channels: summary.channels,
    models: [uuid],
    model_info: { [uuid]: modelInfo(identity) },
  };
}

function modelInfo(identity: ListenIdentity): { name: string; version: string; arch: string } {
  return { name: identity.modelName, version: "earshot", arch: "earshot" };
}
