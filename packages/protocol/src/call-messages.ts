/**
 * Messages of a phone call's event stream, `/v1/calls/{call_sid}/events` (docs/telephony.md): the
 * call's transcripts, tagged with the channel and speaker they came from, and the call's start and
 * end. Server → subscriber only; a subscriber sends nothing but its cursor, in the URL.
 *
 * Every message a subscriber must not miss (`call_started`, finals, `call_ended`) carries a `cursor`,
 * increasing by one per message within the call; a subscriber that reconnects with `?cursor=N` gets
 * every such message after N, once. Partials and `utterance_end` carry none and are not re-sent.
 */
import type { ErrorMessage, TranscriptMessage, UtteranceEndMessage } from "./messages.js";

/** Channel 0 is the call's inbound track (the caller), 1 its outbound track (the agent or bot). */
export type CallChannel = 0 | 1;
export type CallSpeaker = "customer" | "agent";
/** Twilio's names of the two tracks. */
export type CallTrack = "inbound" | "outbound";

export const CALL_CHANNELS: { readonly [T in CallTrack]: { channel: CallChannel; speaker: CallSpeaker } } = {
  inbound: { channel: 0, speaker: "customer" },
  outbound: { channel: 1, speaker: "agent" },
};

/** Why a call's stream ended (`call_ended.reason`). */
export const CALL_END_REASONS = {
  stopped: "Twilio sent `stop`: the call ended, or the stream was stopped (`<Stop><Stream>`, REST).",
  connection_lost: "The Twilio WebSocket closed or dropped without `stop` (Twilio does not reconnect a media stream).",
  server_shutting_down: "The server is stopping.",
  internal_error: "The server failed while handling the stream (a bug: it is logged).",
} as const;
export type CallEndReason = keyof typeof CALL_END_REASONS;

interface Tagged {
  channel: CallChannel;
  speaker: CallSpeaker;
}

/** A transcript of one channel: earshot's own `transcript`, plus `channel` and `speaker`; finals carry a `cursor`. */
export type CallTranscriptMessage = TranscriptMessage & Tagged & { cursor?: number };

export type CallUtteranceEndMessage = UtteranceEndMessage & Tagged;

export interface CallStartedMessage {
  type: "call_started";
  cursor: number;
  call_sid: string;
  stream_sid: string;
  account_sid: string;
  /** The channels the stream carries, in channel order. */
  channels: { channel: CallChannel; speaker: CallSpeaker; track: CallTrack }[];
  /** The stream's `<Parameter>`s, without `token`. */
  custom_parameters: Record<string, string>;
}

export interface CallEndedMessage {
  type: "call_ended";
  cursor: number;
  call_sid: string;
  stream_sid: string;
  reason: CallEndReason;
  /** Stream time of the last audio received, over all channels. */
  audio_ms: number;
}

export type CallEventMessage =
  | CallTranscriptMessage
  | CallUtteranceEndMessage
  | CallStartedMessage
  | CallEndedMessage
  | ErrorMessage;

/** The messages kept for subscribers that reconnect (they carry a `cursor`). */
export type KeptCallMessage = CallStartedMessage | CallEndedMessage | (CallTranscriptMessage & { cursor: number });
