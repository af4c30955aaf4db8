/**
 * One Twilio media stream (one WebSocket): `connected`, then `start`, then `media` (interleaved by
 * track with `both_tracks`), `mark` and `dtmf`, and `stop`. The server never sends Twilio anything
 * (on `<Start><Stream>` anything sent fails the stream, on `<Connect><Stream>` nothing is required).
 *
 * `start` is where the stream is authenticated when the upgrade carried no valid signature (a
 * `token` parameter: a stream token, whose call counts against its key's stream limit, in a cluster
 * across nodes: the messages after `start` wait until that is decided), its format checked, and the
 * call started; each track then feeds its own channel (`CallChannel`). The stream ends with `stop` or with the socket (Twilio does
 * not reconnect a media stream): every channel's last finals go out, then `call_ended` with the
 * reason. A message that cannot be used is a fault (`TWILIO_FAULTS`): logged with its code, counted,
 * and the stream goes on where it can.
 */
import {
  CALL_CHANNELS,
  type CallEndReason,
  type CallTrack,
  type CallChannel as ChannelNumber,
  CloseCode,
  defineError,
  type ErrorCode,
  type StreamConfig,
  TWILIO_MEDIA_FORMAT,
  type TwilioMedia,
  type TwilioMessage,
  type TwilioStart,
} from "@earshot/protocol";
import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import type { Call } from "../calls/call.js";
import { CallChannel, type ChannelHost, MAX_GAP_FILL_MS } from "../calls/call-channel.js";
import type { CallRegistry } from "../calls/call-registry.js";
import type { DropReason } from "../metrics.js";
import { type LivenessTiming, PeerLiveness } from "../peer-liveness.js";
import type { StreamSession } from "../session.js";
import type { SessionConnection } from "../session-types.js";
import type { SharedTokens } from "../shared-tokens.js";
import type { StreamTokens } from "../stream-tokens.js";
import type { CallConfig } from "./call-config.js";
import {
  type CountConnection,
  type CredentialCheck,
  type StreamCredential,
  streamCredential,
} from "./stream-credential.js";
import { StreamFaults, type TwilioFaultCode, type TwilioFaultCounter } from "./twilio-faults.js";
import { readTwilioFrame } from "./twilio-frame.js";

export type MediaStreamState = "connected" | "started" | "ending" | "closed";

const TRANSITIONS: { readonly [S in MediaStreamState]: readonly MediaStreamState[] } = {
  connected: ["started", "closed"],
  started: ["ending", "closed"],
  ending: ["closed"],
  closed: [],
};

export class MediaStreamStateError extends defineError("MediaStreamStateError", "invalid_state") {}

/** What a media stream is given (`TwilioUpgrades`). */
export interface MediaStreamContext extends LivenessTiming {
  readonly log: Logger;
  readonly calls: CallRegistry;
  readonly tokens: StreamTokens;
  /** Tokens minted on other nodes of a cluster, and single use across it. */
  readonly sharedTokens: Pick<SharedTokens, "adopt" | "use">;
  /** The upgrade carried a valid `X-Twilio-Signature`. */
  readonly signed: boolean;
  /** A stream that sends no `start` this soon is closed. */
  readonly startTimeoutMs: number;
  readonly faults: Pick<TwilioFaultCounter, "count">;
  peerDropped(reason: DropReason): void;
  /** The channels' stream config for these `<Parameter>`s, or why it cannot be honoured (`callConfig`). */
  channelConfig(parameters: Readonly<Record<string, string>>): CallConfig;
  /** Counts a connection of `key` (a token's call) holding a stream per track, or says why its key has too many. */
  readonly countConnection: CountConnection;
  /**
   * A channel's stream session for the key `key` (config included), starting at `startSample`;
   * undefined when refused.
   */
  openSession(
    connection: SessionConnection,
    key: string,
    config: StreamConfig,
    startSample: number,
    firstSegmentId: number,
  ): StreamSession | undefined;
}

const TRACKS: Record<string, CallTrack> = { inbound: "inbound", outbound: "outbound" };

export class TwilioMediaStream {
  readonly #ws: WebSocket;
  readonly #context: MediaStreamContext;
  #log: Logger;
  #state: MediaStreamState = "connected";
  readonly #liveness: PeerLiveness;
  readonly #startTimer: NodeJS.Timeout;
  #lastSequence = 0;
  #call: Call | undefined;
  /** Who the stream acts for, once `start` proved it. */
  #credential: StreamCredential | undefined;
  /** The tracks `start` named, with their channels (opened at their first frame). */
  readonly #channels = new Map<CallTrack, CallChannel>();
  /** Channels whose engine is behind: the socket is not read while any is. */
  readonly #paused = new Set<ChannelNumber>();
  readonly #faults: StreamFaults;
  /**
   * Messages that came while `start` was being decided (its key counted, perhaps in Redis), in
   * order; undefined otherwise. The socket is paused meanwhile, so they are at most what one read
   * of it had brought.
   */
  #held: Array<readonly [RawData, boolean]> | undefined;

  constructor(ws: WebSocket, context: MediaStreamContext) {
    this.#ws = ws;
    this.#context = context;
    this.#log = context.log;
    this.#faults = new StreamFaults(context.faults);
    ws.on("message", (data, isBinary) => {
      // Twilio streams a frame every 20 ms: its traffic proves it is there as well as a pong does.
      this.#liveness.answered();
      this.#guarded("a message", () => this.#onMessage(data, isBinary));
    });
    ws.on("close", () => this.#guarded("the close", () => this.#onClose()));
    ws.on("pong", () => this.#liveness.answered());
    ws.on("error", (error) => this.#log.debug({ err: error }, "twilio socket error"));
    this.#liveness = new PeerLiveness(
      context,
      {
        stalledMs: () => 0, // we send Twilio nothing
        ping: () => this.#ws.ping(),
        drop: (reason) => {
          this.#log.info({ reason }, "twilio stream stopped answering pings; dropping it");
          context.peerDropped(reason);
          this.#ws.terminate();
        },
      },
      (check) => this.#guarded("the liveness check", check),
    );
    this.#startTimer = setTimeout(() => {
      this.#guarded("the start timeout", () => {
        if (this.#state === "connected") this.#refuse("twilio_start_timeout", "no start in time");
      });
    }, context.startTimeoutMs);
    this.#startTimer.unref();
  }

  get state(): MediaStreamState {
    return this.#state;
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === "closed" || this.#state === "ending") return;
    if (this.#held !== undefined) {
      this.#held.push([data, isBinary]);
      return;
    }
    const frame = readTwilioFrame(data, isBinary);
    if (frame.kind === "fault") {
      this.#fault(frame.code, frame.message);
      return;
    }
    const { message } = frame;
    if (!this.#inSequence(message)) return;
    switch (message.event) {
      case "connected":
        this.#log.debug({ protocol: message.protocol, version: message.version }, "twilio connected");
        return;
      case "start":
        this.#start(message);
        return;
      case "media":
        if (frame.audio) this.#media(message, frame.audio);
        return;
      case "mark":
      case "dtmf":
        this.#log.debug({ event: message.event }, "twilio event");
        return;
      case "stop":
        this.#log.info("twilio stop");
        this.#end("stopped", CloseCode.normal);
        return;
    }
  }

  /** Messages after `start` must come in `sequenceNumber` order; `stop` is taken whatever its number. */
  #inSequence(message: TwilioMessage): boolean {
    if (message.event === "connected" || message.event === "stop" || message.sequenceNumber === undefined) return true;
    if (message.sequenceNumber <= this.#lastSequence) {
      this.#fault("twilio_out_of_order", `sequenceNumber ${message.sequenceNumber} after ${this.#lastSequence}`);
      return false;
    }
    this.#lastSequence = message.sequenceNumber;
    return true;
  }

  #start(message: TwilioStart): void {
    if (this.#state !== "connected") {
      this.#fault("twilio_duplicate_start", "a second start");
      return;
    }
    const { start } = message;
    this.#log = this.#context.log.child({ call: start.callSid, stream: start.streamSid });
    const format = start.mediaFormat;
    if (
      format.encoding !== TWILIO_MEDIA_FORMAT.encoding ||
      format.sampleRate !== TWILIO_MEDIA_FORMAT.sampleRate ||
      format.channels !== TWILIO_MEDIA_FORMAT.channels
    ) {
      this.#refuse("twilio_unsupported_format", `${format.encoding} at ${format.sampleRate} Hz, ${format.channels} ch`);
      return;
    }
    const { token, ...parameters } = start.customParameters ?? {};
    const tracks = this.#tracks(start.tracks);
    const { tokens, sharedTokens, signed, countConnection } = this.#context;
    this.#held = [];
    this.#ws.pause();
    // A call holds a decoder per track: it counts that many streams of its key.
    streamCredential(token, signed, tokens, sharedTokens, countConnection, Math.max(1, tracks.length)).then(
      (checked) => this.#guarded("the start", () => this.#started(message, tracks, parameters, checked)),
      (error: unknown) => {
        this.#log.error({ err: error }, "twilio stream: counting its key failed");
        this.#ws.terminate();
      },
    );
  }

  /** `start` decided: the call starts (or is refused), then the messages held meanwhile are handled. */
  #started(
    message: TwilioStart,
    tracks: CallTrack[],
    parameters: Readonly<Record<string, string>>,
    checked: CredentialCheck,
  ): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    if (this.#paused.size === 0) this.#ws.resume();
    if (this.#state !== "connected") {
      // The socket closed (or `start` timed out) meanwhile.
      if (checked.ok) checked.credential.release();
      return;
    }
    this.#startCall(message, tracks, parameters, checked);
    for (const [data, isBinary] of held) this.#guarded("a message", () => this.#onMessage(data, isBinary));
  }

  #startCall(
    message: TwilioStart,
    tracks: CallTrack[],
    parameters: Readonly<Record<string, string>>,
    checked: CredentialCheck,
  ): void {
    if (!checked.ok) {
      this.#refuse(checked.code, checked.why);
      return;
    }
    const { start } = message;
    const { credential } = checked;
    this.#credential = credential;
    const config = this.#context.channelConfig(parameters);
    if (!config.ok) {
      this.#refuse("twilio_invalid_config", config.why);
      return;
    }
    const call = this.#context.calls.start(
      start.callSid,
      {
        call_sid: start.callSid,
        stream_sid: start.streamSid,
        account_sid: start.accountSid,
        channels: tracks.map((track) => ({ ...CALL_CHANNELS[track], track })),
        custom_parameters: parameters,
      },
      credential.owner,
    );
    if (!call) {
      this.#refuse("twilio_call_in_progress", "the call already has a stream");
      return;
    }
    this.#transition("started");
    clearTimeout(this.#startTimer);
    this.#call = call;
    const host = this.#channelHost(call, config.config);
    for (const track of tracks) {
      this.#channels.set(track, new CallChannel(track, call.firstSegmentId(CALL_CHANNELS[track].channel), host));
    }
    this.#log.info({ tracks, authenticatedBy: credential.by }, "twilio stream started");
  }

  #tracks(named: readonly string[]): CallTrack[] {
    const tracks: CallTrack[] = [];
    for (const name of named) {
      const track = TRACKS[name];
      if (track && !tracks.includes(track)) tracks.push(track);
      else this.#fault("twilio_unknown_track", `start.tracks names ${JSON.stringify(name.slice(0, 32))}`);
    }
    return tracks.sort((a, b) => CALL_CHANNELS[a].channel - CALL_CHANNELS[b].channel);
  }

  #media(message: TwilioMedia, audio: Buffer): void {
    if (this.#state !== "started") {
      this.#fault("twilio_media_before_start", "media before start");
      return;
    }
    const track = TRACKS[message.media.track];
    const channel = track === undefined ? undefined : this.#channels.get(track);
    if (!channel) {
      this.#fault("twilio_unknown_track", `media.track ${JSON.stringify(message.media.track.slice(0, 32))}`);
      return;
    }
    channel.push(audio, message.media.timestamp);
  }

  #channelHost(call: Call, config: StreamConfig): ChannelHost {
    return {
      log: this.#log,
      openSession: (connection, startSample, firstSegmentId) => {
        const key = this.#credential?.key ?? "";
        const session = this.#context.openSession(connection, key, config, startSample, firstSegmentId);
        if (!session) this.#fault("twilio_over_capacity", "no engine stream for a track");
        return session;
      },
      transcript: (channel, speaker, message) => call.transcript(channel, speaker, message),
      utteranceEnd: (channel, speaker, message) => call.utteranceEnd(channel, speaker, message),
      pause: (channel, paused) => this.#pause(channel, paused),
      failed: (channel, code) => this.#channelFailed(channel, code),
      gapTooLong: (channel, gapMs) =>
        this.#fault("twilio_timestamp_gap", `channel ${channel}: ${gapMs} ms ahead; filled ${MAX_GAP_FILL_MS} ms`),
    };
  }

  /** A channel's session ended on its own. A shutdown or drain ends the call; anything else only that channel. */
  #channelFailed(channel: ChannelNumber, code: ErrorCode): void {
    // A node that drains ends its calls' streams as a shutdown does (Twilio cannot move a media stream).
    if (code === "server_shutting_down" || code === "draining") {
      this.#end("server_shutting_down", CloseCode.serviceRestart);
    } else this.#log.warn({ channel, code }, "channel no longer transcribed; the call goes on");
  }

  #pause(channel: ChannelNumber, paused: boolean): void {
    const wasPaused = this.#paused.size > 0;
    if (paused) this.#paused.add(channel);
    else this.#paused.delete(channel);
    const isPaused = this.#paused.size > 0;
    if (wasPaused === isPaused || this.#state === "closed") return;
    this.#liveness.pause(isPaused);
    if (isPaused) this.#ws.pause();
    else this.#ws.resume();
  }

  #onClose(): void {
    this.#liveness.stop();
    clearTimeout(this.#startTimer);
    if (this.#state === "started") {
      this.#log.info("twilio stream closed without stop");
      this.#end("connection_lost", undefined);
    } else if (this.#state === "connected") {
      this.#finish(undefined);
    }
  }

  /**
   * The stream is over: every channel's last finals, then `call_ended`, then the socket closes
   * (`closeCode`; undefined: it is closed already).
   */
  #end(reason: CallEndReason, closeCode: number | undefined): void {
    if (this.#state !== "started") return;
    this.#transition("ending");
    const call = this.#call;
    const channels = [...this.#channels.values()];
    let ending = reason;
    Promise.all(channels.map((channel) => channel.end()))
      .catch((error: unknown) => {
        this.#log.error({ err: error }, "ending the call's channels failed");
        ending = "internal_error";
      })
      .finally(() => {
        this.#guarded("ending the call", () => {
          const audioMs = Math.round(Math.max(0, ...channels.map((channel) => channel.endMs)));
          call?.end(ending, audioMs);
          if (call) this.#context.calls.ended(call);
          this.#log.info({ reason: ending, audioMs }, "call ended");
          this.#finish(closeCode);
        });
      });
  }

  /** The stream is closed (after its call ended, or refused before it started). */
  #finish(closeCode: number | undefined): void {
    if (this.#state === "closed") return;
    this.#transition("closed");
    this.#liveness.stop();
    clearTimeout(this.#startTimer);
    this.#credential?.release();
    if (closeCode !== undefined) this.#ws.close(closeCode);
  }

  /** A fault that ends the stream before any audio is decoded. */
  #refuse(code: TwilioFaultCode, why: string): void {
    this.#fault(code, why);
    if (this.#state === "connected") this.#finish(CloseCode.policyViolation);
  }

  #fault(code: TwilioFaultCode, why: string): void {
    this.#faults.report(this.#log, code, why);
  }

  #transition(to: MediaStreamState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new MediaStreamStateError(`Illegal media stream transition ${this.#state} → ${to}.`);
    }
    this.#state = to;
  }

  /** A bug in handling this stream ends it (logged), never the process or another stream. */
  #guarded(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#log.error({ err: error }, `twilio stream: ${what} failed`);
      if (this.#state === "started") this.#end("internal_error", CloseCode.internalError);
      else this.#ws.terminate();
    }
  }
}
