/**
 * Twilio Media Streams: the messages Twilio sends on a `<Stream>` WebSocket, as Twilio documents them
 * (https://www.twilio.com/docs/voice/media-streams/websocket-messages). All are JSON text frames,
 * tagged by `event`. Twilio sends `sequenceNumber`, `media.chunk` and `media.timestamp` as strings
 * of digits; they are read as numbers here. Fields Twilio may add later are ignored.
 */
import { z } from "zod";

/** A count Twilio sends as a string of digits (a number is taken too). */
const Count = z
  .union([z.string().regex(/^\d{1,15}$/, "must be a string of digits"), z.number().int().min(0)])
  .transform(Number)
  .pipe(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER));
const Sid = z.string().min(1).max(64);

export const TwilioConnectedSchema = z.object({
  event: z.literal("connected"),
  protocol: z.string().max(64).optional(),
  version: z.string().max(64).optional(),
});

export const TwilioStartSchema = z.object({
  event: z.literal("start"),
  sequenceNumber: Count,
  streamSid: Sid,
  start: z.object({
    accountSid: Sid,
    streamSid: Sid,
    callSid: Sid,
    tracks: z.array(z.string().max(32)).min(1).max(4),
    mediaFormat: z.object({
      encoding: z.string().max(64),
      sampleRate: z.number(),
      channels: z.number(),
    }),
    customParameters: z.record(z.string().max(500), z.string().max(500)).optional(),
  }),
});

export const TwilioMediaSchema = z.object({
  event: z.literal("media"),
  sequenceNumber: Count,
  streamSid: Sid,
  media: z.object({
    track: z.string().max(32),
    chunk: Count,
    /** Milliseconds from the start of the stream. */
    timestamp: Count,
    /** Base64 of raw μ-law 8 kHz mono bytes. */
    payload: z.string(),
  }),
});

export const TwilioMarkSchema = z.object({
  event: z.literal("mark"),
  sequenceNumber: Count,
  streamSid: Sid,
  mark: z.object({ name: z.string().max(256) }),
});

export const TwilioDtmfSchema = z.object({
  event: z.literal("dtmf"),
  sequenceNumber: Count.optional(),
  streamSid: Sid,
  dtmf: z.object({ track: z.string().max(32), digit: z.string().max(4) }),
});

export const TwilioStopSchema = z.object({
  event: z.literal("stop"),
  sequenceNumber: Count,
  streamSid: Sid,
  stop: z.object({ accountSid: Sid, callSid: Sid }),
});

export const TwilioMessageSchema = z.discriminatedUnion("event", [
  TwilioConnectedSchema,
  TwilioStartSchema,
  TwilioMediaSchema,
  TwilioMarkSchema,
  TwilioDtmfSchema,
  TwilioStopSchema,
]);
export type TwilioMessage = z.infer<typeof TwilioMessageSchema>;
export type TwilioStart = z.infer<typeof TwilioStartSchema>;
export type TwilioMedia = z.infer<typeof TwilioMediaSchema>;
export type TwilioEvent = TwilioMessage["event"];

export const TWILIO_EVENTS: readonly TwilioEvent[] = ["connected", "start", "media", "mark", "dtmf", "stop"];

export function isTwilioEvent(event: unknown): event is TwilioEvent {
  return typeof event === "string" && (TWILIO_EVENTS as readonly string[]).includes(event);
}

/** The only media format Twilio streams: μ-law, 8 kHz, mono. */
export const TWILIO_MEDIA_FORMAT = { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } as const;
