/**
 * `MultichannelClient`: a recording or call with N channels (a stereo call recording, a phone
 * line's two sides) transcribed as N earshot streams, one `EarshotClient` per channel, so each
 * channel keeps everything a stream has: resume, reconnection, audio replay, and its finals exactly
 * once. Every result carries its `channel` (0-based) and the channel's `speaker` label, as the
 * server's own multichannel messages will; `transcript` reads all channels in time order.
 *
 * The channels' streams share one clock: each starts at the recording's first sample, and
 * `send()` gives every channel the same number of samples, so `start_ms` on channel 0 and on
 * channel 1 mean the same moment.
 */
import type { SessionStartedMessage, TranscriptMessage, UtteranceEndMessage } from "@earshot/protocol";
import { ChannelSplitter, type MultichannelInput } from "./channel-splitter.js";
import { EarshotClient } from "./client.js";
import type {
  AudioLostEvent,
  ClientWarning,
  CloseResult,
  EarshotClientCoreOptions,
  StateChange,
} from "./client-types.js";
import { TypedEmitter } from "./emitter.js";
import { EarshotClientError } from "./errors.js";
import { MultichannelTranscript } from "./multichannel-transcript.js";
import type { PcmInput } from "./pcm-input.js";

/** Which channel an event is about, and its label. */
export interface ChannelTag {
  readonly channel: number;
  readonly speaker?: string;
}

export type ChannelTranscriptMessage = TranscriptMessage & ChannelTag;

export type MultichannelEvents = {
  partial: ChannelTranscriptMessage;
  /** Exactly once per channel and `segment_id`; in order within a channel, as each channel is ready across them. */
  final: ChannelTranscriptMessage;
  utterance_end: UtteranceEndMessage & ChannelTag;
  error: ChannelTag & { readonly error: EarshotClientError };
  warning: ClientWarning & ChannelTag;
  state: StateChange & ChannelTag;
  audio_lost: AudioLostEvent & ChannelTag;
  /** Every channel's audio is on its socket again, after `send()` returned false. */
  drain: undefined;
};

export interface MultichannelClientCoreOptions extends EarshotClientCoreOptions {
  /** How many channels the audio has; one stream each. */
  readonly channels: number;
  /** A label per channel (`["customer", "agent"]`), carried as `speaker`; channels without one have none. */
  readonly speakers?: readonly string[];
  /** What `send()` takes: PCM16 at 16 kHz by default, or another rate, or G.711 bytes. */
  readonly input?: MultichannelInput;
}

export interface MultichannelCloseResult {
  /** Each channel's close, by channel. */
  readonly channels: readonly CloseResult[];
  /** Audio that got no finals, summed over the channels. */
  readonly lostMs: number;
}

export class MultichannelClient extends TypedEmitter<MultichannelEvents> implements AsyncDisposable {
  /** One client per channel: its state, session and buffers. */
  readonly clients: readonly EarshotClient[];
  readonly speakers: readonly (string | undefined)[];
  /** Every channel's finals, in time order across channels. */
  readonly transcript: MultichannelTranscript;
  readonly #splitter: ChannelSplitter;
  /** Channels whose `send()` returned false and that have not drained yet. */
  readonly #waiting = new Set<number>();
  #closeRequest: Promise<MultichannelCloseResult> | undefined;

  constructor(options: MultichannelClientCoreOptions) {
    super();
    const { channels, speakers = [], input, ...clientOptions } = options;
    this.#splitter = new ChannelSplitter(channels, input);
    this.speakers = Array.from({ length: channels }, (_, c) => speakers[c]);
    this.clients = this.speakers.map((_, c) => this.#channelClient(c, clientOptions));
    this.transcript = new MultichannelTranscript(
      this.clients.map((client) => client.transcript),
      this.speakers,
    );
  }

  get channels(): number {
    return this.clients.length;
  }

  /** Audio waiting for a socket, in ms: the most any channel has. */
  get queuedMs(): number {
    return Math.max(...this.clients.map((c) => c.queuedMs));
  }

  /** Audio held for replay, in ms: the most any channel holds. */
  get bufferedMs(): number {
    return Math.max(...this.clients.map((c) => c.bufferedMs));
  }

  /**
   * Opens every channel's stream; resolves with their `session_started`, by channel. If one fails
   * the others are closed and the first failure rejects (as `EarshotClient.connect()` would).
   */
  async connect(): Promise<SessionStartedMessage[]> {
    const opened = await Promise.allSettled(this.clients.map((c) => c.connect()));
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failed === undefined) return opened.map((o) => (o as PromiseFulfilledResult<SessionStartedMessage>).value);
    await this.close();
    throw failed.reason;
  }

  /**
   * Sends interleaved audio (`input` says its encoding and rate; a call may end mid-frame). Each
   * channel's share goes to its stream; a channel whose stream has ended is skipped (its `error`
   * said why). Returns false while audio waits for a socket (`drain` follows).
   */
  send(audio: PcmInput): boolean {
    this.#assertStreaming("send");
    return this.#sendChannels(this.#splitter.push(audio));
  }

  /** Asks every channel's server to end its current utterance. */
  finalize(): void {
    this.#assertStreaming("finalize");
    for (const client of this.#live()) client.finalize();
  }

  /**
   * Sends what is left on every channel and closes them all, waiting for their last finals.
   * Idempotent; never rejects.
   */
  close(): Promise<MultichannelCloseResult> {
    this.#closeRequest ??= this.#closeAll();
    return this.#closeRequest;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close().then(() => undefined);
  }

  async #closeAll(): Promise<MultichannelCloseResult> {
    if (this.#live().length > 0) this.#sendChannels(this.#splitter.flush());
    const channels = await Promise.all(this.clients.map((c) => c.close()));
    return { channels, lostMs: channels.reduce((sum, r) => sum + r.lostMs, 0) };
  }

  #sendChannels(channels: readonly Int16Array[]): boolean {
    let accepted = true;
    channels.forEach((pcm, c) => {
      const client = this.clients[c] as EarshotClient;
      if (pcm.length === 0 || !streaming(client)) return;
      if (!client.send(pcm)) {
        accepted = false;
        this.#waiting.add(c);
      }
    });
    return accepted;
  }

  #assertStreaming(method: string): void {
    if (this.#closeRequest !== undefined || this.#live().length === 0) {
      throw new EarshotClientError("invalid_state", `${method}() on a multichannel client that is closed or closing.`);
    }
  }

  #live(): EarshotClient[] {
    return this.clients.filter(streaming);
  }

  #channelClient(channel: number, options: EarshotClientCoreOptions): EarshotClient {
    const client = new EarshotClient(options);
    const speaker = this.speakers[channel];
    const tag: ChannelTag = speaker === undefined ? { channel } : { channel, speaker };
    client.on("partial", (m) => this.emit("partial", { ...m, ...tag }));
    client.on("final", (m) => this.emit("final", { ...m, ...tag }));
    client.on("utterance_end", (m) => this.emit("utterance_end", { ...m, ...tag }));
    client.on("error", (error) => this.emit("error", { ...tag, error }));
    client.on("warning", (w) => this.emit("warning", { ...w, ...tag }));
    client.on("audio_lost", (l) => this.emit("audio_lost", { ...l, ...tag }));
    client.on("drain", () => this.#drained(channel));
    client.on("state", (s) => {
      this.emit("state", { ...s, ...tag });
      if (s.to === "closed") this.#drained(channel);
    });
    return client;
  }

  #drained(channel: number): void {
    if (!this.#waiting.delete(channel) || this.#waiting.size > 0) return;
    this.emit("drain", undefined);
  }
}

/** Still taking audio: not closed, and close() not called on it. */
function streaming(client: EarshotClient): boolean {
  return client.state === "connecting" || client.state === "open" || client.state === "reconnecting";
}
