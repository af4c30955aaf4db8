/**
 * What can go wrong on a Twilio media stream, by code. Twilio reads nothing we could send on a
 * `<Start><Stream>` (anything sent fails the stream with Twilio error 31924), so a fault is never
 * answered on the socket: it is a log line with its code and a count in
 * `earshot_twilio_faults_total{code}`, and the call goes on where it can (`ends` says when it
 * cannot). docs/telephony.md lists every code; `twilio-faults.test.ts` checks the two agree.
 */
import type { Logger } from "pino";
import type { Counter, Registry } from "prom-client";
import { labelledCounter } from "../metric-kinds.js";

export interface TwilioFaultSpec {
  readonly summary: string;
  /** The stream is closed: the call cannot go on. */
  readonly ends: boolean;
}

export const TWILIO_FAULTS = {
  twilio_bad_json: { summary: "A text frame was not a JSON object; it was ignored.", ends: false },
  twilio_binary_frame: { summary: "A binary frame (Twilio sends only JSON text); it was ignored.", ends: false },
  twilio_unknown_event: { summary: "`event` is not one Twilio documents; the message was ignored.", ends: false },
  twilio_invalid_message: {
    summary: "A known event with a missing or mistyped field; the message was ignored.",
    ends: false,
  },
  twilio_frame_too_large: {
    summary: "A frame over the Twilio frame limit (64 KiB; over 1 MiB the socket layer cuts the stream).",
    ends: false,
  },
  twilio_bad_base64: { summary: "`media.payload` was not base64; the frame was ignored.", ends: false },
  twilio_media_before_start: { summary: "`media` before `start`; it was ignored.", ends: false },
  twilio_unknown_track: {
    summary: "`media.track` was neither `inbound` nor `outbound`, or not one `start.tracks` named; ignored.",
    ends: false,
  },
  twilio_out_of_order: {
    summary: "A `sequenceNumber` not above the last one (late or repeated); the message was ignored.",
    ends: false,
  },
  twilio_timestamp_gap: {
    summary:
      "`media.timestamp` jumped ahead of the track's audio by more than 10 s; the gap was filled with 10 s of silence.",
    ends: false,
  },
  twilio_duplicate_start: { summary: "A second `start` on one stream; it was ignored.", ends: false },
  twilio_unsupported_format: {
    summary: "`start.mediaFormat` is not μ-law 8 kHz mono: the stream is closed before any audio is decoded.",
    ends: true,
  },
  twilio_unauthorized: {
    summary:
      "No valid credential at `start` (no valid signature on the upgrade and no valid `token` parameter): the stream is closed before any audio is decoded.",
    ends: true,
  },
  twilio_too_many_streams: {
    summary:
      "The `token` parameter's key already has as many open streams as the server allows: the stream is closed before any audio is decoded.",
    ends: true,
  },
  twilio_invalid_config: {
    summary:
      "A configuring `<Parameter>` (`language`, `model`, `numerals`, `redact`, `endpointing_ms`) the server cannot honour: the stream is closed before any audio is decoded.",
    ends: true,
  },
  twilio_call_in_progress: {
    summary: "A second stream for a call that already has one streaming: it is closed.",
    ends: true,
  },
  twilio_start_timeout: { summary: "No `start` within 5 s of connecting: the stream is closed.", ends: true },
  twilio_over_capacity: {
    summary: "The server could not open an engine stream for a track (full): that track is not transcribed.",
    ends: false,
  },
} as const satisfies Record<string, TwilioFaultSpec>;

export type TwilioFaultCode = keyof typeof TWILIO_FAULTS;

/** `earshot_twilio_faults_total{code}`, every code exported from 0. */
export class TwilioFaultCounter {
  readonly #counter: Counter<"code">;

  constructor(registry: Registry) {
    this.#counter = labelledCounter(
      registry,
      "earshot_twilio_faults_total",
      "Faults on Twilio media streams, by code (docs/telephony.md).",
      "code",
      Object.keys(TWILIO_FAULTS),
    );
  }

  count(code: TwilioFaultCode): void {
    this.#counter.inc({ code });
  }
}

/** Faults of one code on one stream logged in full; beyond, one line per power of ten (all are counted). */
const LOGGED_IN_FULL = 5;

/** One stream's faults: each counted, and logged with its code, without letting a bad peer flood the log. */
export class StreamFaults {
  readonly #counter: Pick<TwilioFaultCounter, "count">;
  readonly #counts = new Map<TwilioFaultCode, number>();

  constructor(counter: Pick<TwilioFaultCounter, "count">) {
    this.#counter = counter;
  }

  report(log: Logger, code: TwilioFaultCode, why: string): void {
    this.#counter.count(code);
    const count = (this.#counts.get(code) ?? 0) + 1;
    this.#counts.set(code, count);
    if (count > LOGGED_IN_FULL && !/^10+$/.test(String(count))) return;
    const level = TWILIO_FAULTS[code].ends ? "warn" : "info";
    log[level]({ code, count }, `twilio fault: ${why}`);
  }
}
