/**
 * A two-channel stream (`config.channels: 2`, docs/protocol.md "Two channels"): one connection,
 * one resume token, and behind it one `StreamSession` per channel, as a phone call's two tracks
 * run (`calls/call-channel.ts`). Each channel keeps everything a stream has (its wire decoder, its
 * engine stream behind the VAD gate, its segment ids, forced finals, its decoder lent per
 * utterance, resume and decoder release, its own finals exactly once); this object splits the
 * client's frames between them and `ChannelMerge` turns what they say back into one stream.
 *
 * It has no lifecycle of its own beyond its connection: its state is its channels' (configured
 * when both are, finished when both are), and when one channel's session ends for good the
 * other's ends with it, so a resume token never names half a stream.
 *
 * Positions count frames: both channels' sessions see the same positions. A channel's session
 * that gave its decoder back resumes at the end of its own last final, so after a resume the
 * channels may stand at different positions: the client replays from the lower one, and the other
 * channel skips the frames it already has. Each channel's finals are redelivered past the client's
 * last segment id *for that channel* (`resume`'s `last_segment_ids`).
 */
import type { Engine } from "@earshot/engines";
import { CloseCode, type Encoding, type StreamConfig } from "@earshot/protocol";
import type { Logger } from "pino";
import type { ClientSession } from "../client-session.js";
import { type SessionHooks, StreamSession } from "../session.js";
import { newSessionIdentity } from "../session-identity.js";
import type { ReleaseReason } from "../session-states.js";
import type { SessionConnection, SessionLimits } from "../session-types.js";
import type { StreamDefaults } from "../stream-config.js";
import { ChannelMerge } from "./channel-merge.js";
import { positionsPerByte, splitChannels, TWO_CHANNELS } from "./interleaved-audio.js";

export class TwoChannelSession implements ClientSession {
  readonly id: string;
  readonly resumeToken: string;
  readonly channels = TWO_CHANNELS;
  readonly #hooks: SessionHooks;
  readonly #merge: ChannelMerge;
  readonly #sessions: readonly [StreamSession, StreamSession];
  #connection: SessionConnection | undefined;
  #encoding: Exclude<Encoding, "opus"> = "pcm_s16le";
  /** Stream position after the client's last frame (a resume restarts it at the lower channel's). */
  #received = 0;
  #waitingSince = 0;

  constructor(
    connection: SessionConnection,
    engine: Engine,
    limits: SessionLimits,
    log: Logger,
    hooks: SessionHooks,
    defaults?: StreamDefaults,
  ) {
    const identity = newSessionIdentity();
    this.id = identity.id;
    this.resumeToken = identity.resumeToken;
    this.#connection = connection;
    this.#hooks = hooks;
    this.#merge = new ChannelMerge({ id: this.id, resumeToken: this.resumeToken, connection: () => this.#connection });
    const channelHooks: SessionHooks = {
      onClosed: () => this.#channelClosed(),
      onReleased: (_session, reason) => hooks.onReleased?.(this, reason),
      metrics: hooks.metrics,
    };
    const channelLog = log.child({ twoChannelSession: this.id });
    const open = (channel: 0 | 1) =>
      new StreamSession(
        this.#merge.connections[channel],
        engine,
        limits,
        channelLog.child({ channel }),
        channelHooks,
        defaults,
      );
    this.#sessions = [open(0), open(1)];
  }

  get configured(): boolean {
    return this.#sessions.every((session) => session.configured);
  }

  get closed(): boolean {
    return this.#sessions.every((session) => session.closed);
  }

  get waiting(): boolean {
    return this.#connection === undefined && !this.closed && this.#sessions.some((session) => session.waiting);
  }

  get waitingSince(): number {
    return this.#waitingSince;
  }

  get finished(): boolean {
    return this.#sessions.every((session) => session.finished);
  }

  get decodersHeld(): number {
    return this.#sum((session) => session.decodersHeld);
  }

  get decodersToReopen(): number {
    return this.#sum((session) => session.decodersToReopen);
  }

  get backlogMs(): number {
    return Math.max(...this.#sessions.map((session) => session.backlogMs));
  }

  configure(config: StreamConfig): boolean {
    const { start_samples: startSamples, first_segment_ids: firstSegmentIds, ...common } = config;
    const startSample = config.start_sample ?? 0;
    if (startSamples?.some((start) => start < startSample)) {
      this.#connection?.error("invalid_message", "config: start_samples must not be before start_sample.");
      this.#dispose();
      return false;
    }
    // The channels' configs are the same but for where each starts (a successor of a lost session):
    // one refused (its error went to the client) refuses both.
    for (const [channel, session] of this.#sessions.entries()) {
      const own = {
        ...common,
        start_sample: startSamples?.[channel] ?? startSample,
        first_segment_id: firstSegmentIds?.[channel] ?? config.first_segment_id ?? 0,
      };
      if (!session.configure(own)) {
        this.#dispose();
        return false;
      }
    }
    // resolveConfig refused Opus for two channels.
    this.#encoding = (config.encoding ?? "pcm_s16le") as Exclude<Encoding, "opus">;
    // The client's audio starts here; a channel that starts later skips the frames before its start.
    this.#received = startSample;
    return true;
  }

  resume(connection: SessionConnection, lastSegmentIds: readonly number[]): void {
    const previous = this.#connection;
    this.#connection = connection;
    if (previous && previous !== connection) previous.close(CloseCode.goingAway, "resumed elsewhere");
    this.#merge.hold();
    this.#sessions.forEach((session, channel) => {
      session.attach(this.#merge.connections[channel] as SessionConnection, lastSegmentIds[channel] ?? -1);
    });
    this.#received = Math.min(...this.#sessions.map((session) => session.receivedSamples));
    this.#merge.resumed(this.#received);
  }

  detach(connection: SessionConnection, requested: boolean): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    this.#waitingSince = performance.now();
    this.#sessions.forEach((session, channel) => {
      session.detach(this.#merge.connections[channel] as SessionConnection, requested);
    });
    if (this.waiting) this.#hooks.onWaiting?.(this);
  }

  audio(bytes: Uint8Array, isHex: boolean): string | undefined {
    const split = splitChannels(bytes, this.#encoding);
    if (!split.ok) return split.message;
    const from = this.#received;
    this.#received += split.positions;
    for (const [channel, session] of this.#sessions.entries()) {
      let audio = split.channels[channel] as Uint8Array;
      // A channel that resumed further on than the other already has the start of the replay.
      const ahead = session.receivedSamples - from;
      if (ahead > 0)
        audio = audio.subarray(Math.min(audio.byteLength, Math.ceil(ahead / positionsPerByte(this.#encoding))));
      if (audio.byteLength === 0) continue;
      const invalid = session.audio(audio, isHex);
      if (invalid !== undefined) return invalid;
    }
    return undefined;
  }

  finalize(): void {
    for (const session of this.#sessions) session.finalize();
  }

  finish(): void {
    for (const session of this.#sessions) session.finish();
  }

  async shutdown(timeoutMs: number): Promise<void> {
    await Promise.all(this.#sessions.map((session) => session.shutdown(timeoutMs)));
  }

  handOff(): void {
    const [first, second] = this.#sessions;
    // The stream moves once both channels stand between utterances; moving one ends both.
    const atBoundary = (): void => {
      if (first.atHandOffBoundary && second.atHandOffBoundary) first.moveAway();
    };
    for (const session of this.#sessions) session.handOff(atBoundary);
  }

  handOffNow(): void {
    for (const session of this.#sessions) session.handOffNow();
  }

  releaseDecoder(reason: ReleaseReason): boolean {
    let released = false;
    for (const session of this.#sessions) released = session.releaseDecoder(reason) || released;
    return released;
  }

  expire(): void {
    if (this.waiting) this.#dispose();
  }

  /** A channel's session ended for good: the other ends with it; once both did, the stream is over. */
  #channelClosed(): void {
    if (this.closed) {
      this.#hooks.onClosed(this);
      return;
    }
    this.#dispose();
  }

  /** Not continued on another node (its sessions write no records); ends like any session moved away. */
  takenOver(): void {
    this.#connection?.close(CloseCode.goingAway, "resumed elsewhere");
    this.#dispose();
  }

  #dispose(): void {
    for (const session of this.#sessions) session.dispose();
  }

  #sum(value: (session: StreamSession) => number): number {
    return this.#sessions.reduce((sum, session) => sum + value(session), 0);
  }
}
