/**
 * AssemblyAI Universal-Streaming v3 (`/v3/ws`): the JSON messages a client sends, as AssemblyAI
 * documents them (https://www.assemblyai.com/docs/streaming/message-sequence) and its SDK sends
 * them, and the ones the server sends back. Audio travels as binary frames, outside these. Fields
 * AssemblyAI may add later are ignored.
 */
import { z } from "zod";

const Milliseconds = z.number().int().min(0).max(600_000);

/** Mid-session tuning. Only `format_turns` acts on earshot; the rest is accepted and ignored. */
export const AaiUpdateConfigurationSchema = z.object({
  type: z.literal("UpdateConfiguration"),
  end_of_turn_confidence_threshold: z.number().min(0).max(1).optional(),
  min_turn_silence: Milliseconds.optional(),
  min_end_of_turn_silence_when_confident: Milliseconds.optional(),
  max_turn_silence: Milliseconds.optional(),
  vad_threshold: z.number().min(0).max(1).optional(),
  format_turns: z.boolean().optional(),
  keyterms_prompt: z.array(z.string().max(100)).max(100).optional(),
  prompt: z.string().max(10_000).optional(),
  filter_profanity: z.boolean().optional(),
});
export const AaiForceEndpointSchema = z.object({ type: z.literal("ForceEndpoint") });
export const AaiKeepAliveSchema = z.object({ type: z.literal("KeepAlive") });
export const AaiTerminateSchema = z.object({ type: z.literal("Terminate") });

export const AaiClientMessageSchema = z.discriminatedUnion("type", [
  AaiUpdateConfigurationSchema,
  AaiForceEndpointSchema,
  AaiKeepAliveSchema,
  AaiTerminateSchema,
]);
export type AaiClientMessage = z.infer<typeof AaiClientMessageSchema>;
export const AAI_CLIENT_MESSAGE_TYPES: readonly string[] = [
  "UpdateConfiguration",
  "ForceEndpoint",
  "KeepAlive",
  "Terminate",
];

/** The session opened: `expires_at` in Unix seconds (when the session's longest duration runs out). */
export interface AaiBegin {
  type: "Begin";
  id: string;
  expires_at: number;
}

/** A word of a turn; times in integer milliseconds of the stream. */
export interface AaiWord {
  start: number;
  end: number;
  text: string;
  confidence: number;
  word_is_final: boolean;
}

export interface AaiTurn {
  type: "Turn";
  turn_order: number;
  turn_is_formatted: boolean;
  end_of_turn: boolean;
  /** The finalized words of the turn so far. */
  transcript: string;
  end_of_turn_confidence: number;
  words: AaiWord[];
  /** The turn's text when a pause ended it; otherwise "". */
  utterance: string;
  language_code?: string;
}

/** After `Terminate`, once every turn went out; the socket then closes with 1000. */
export interface AaiTermination {
  type: "Termination";
  audio_duration_seconds: number;
  session_duration_seconds: number;
}
