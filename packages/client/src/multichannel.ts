/**
 * `MultichannelClient`: a recording or call with N channels (a stereo call recording, a phone
 * line's two sides) transcribed with everything a stream has for each channel: resume,
 * reconnection, audio replay, and its finals exactly once. Every result carries its `channel`
 * (0-based) and the channel's `speaker` label; `transcript` reads all channels in time order.
 *
 * Two channels go on **one connection** (`config.channels: 2`, one `EarshotClient` with
 * `channels: 2`) when the server takes it, which it says by echoing `channels: 2` in
 * `session_started`. Otherwise (a server before it, more than two channels, Opus on the wire, or
 * `oneConnection: false`) each channel is its own stream, one `EarshotClient` per channel.
 *
 * The channels share one clock: every channel gets the same number of samples from the
 * recording's first on, so `start_ms` on channel 0 and on channel 1 mean the same moment.
 */
import { interleavePcm } from "@earshot/audio";
import type { SessionStartedMessage, TranscriptMessage, UtteranceEndMessage } from "@earshot/protocol";
import { TranscriptAggregator } from "./aggregator.js";
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

export interface MultichannelClientCoreOptions extends Omit<EarshotClientCoreOptions, "channels"> {
  /** How many channels the audio has. */
  readonly channels: number;
  /**
   * Two channels on one connection when the server takes it (default true); false: one stream per
   * channel whatever the server.
   */
  readonly oneConnection?: boolean;
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
  readonly speakers: readonly (string | undefined)[];
  /** Every channel's finals, in time order across channels. */
  readonly transcript: MultichannelTranscript;
  readonly #splitter: ChannelSplitter;
  readonly #clientOptions: EarshotClientCoreOptions;
  /** Each channel's transcript, fed by whichever client carries the channel. */
  readonly #transcripts: readonly TranscriptAggregator[];
  /** The stream clients: one for both channels (one connection), or one per channel. */
  #clients: readonly EarshotClient[];
  /** Channels whose `send()` returned false and that have not drained yet (one connection: 0). */
  readonly #waiting = new Set<number>();
  /**
   * While the one-connection client connects: its state changes, held until it is known whether the
   * server takes two channels (if not, they are dropped with it and the per-channel clients report).
   */
  #probing: StateChange[] | undefined;
  #closeRequest: Promise<MultichannelCloseResult> | undefined;

  constructor(options: MultichannelClientCoreOptions) {
    super();
    const { channels, speakers = [], input, oneConnection = true, ...clientOptions } = options;
    this.#splitter = new ChannelSplitter(channels, input);
    this.#clientOptions = clientOptions;
    this.speakers = Array.from({ length: channels }, (_, c) => speakers[c]);
    this.#transcripts = this.speakers.map(() => new TranscriptAggregator());
    this.transcript = new MultichannelTranscript(this.#transcripts, this.speakers);
    const paired = oneConnection && channels === 2 && clientOptions.encoding !== "opus";
    this.#clients = paired ? [this.#pairClient()] : this.#channelClients();
  }

  get channels(): number {
    return this.speakers.length;
  }

  /** The stream clients: one carrying both channels (`oneConnection`), or one per channel. */
  get clients(): readonly EarshotClient[] {
    return this.#clients;
  }

  /** Whether both channels share one connection (known once `connect()` resolved). */
  get oneConnection(): boolean {
    return this.#clients.length === 1 && this.#clients[0]?.channels === 2;
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
   * Opens the stream(s); resolves with the `session_started` of each stream (one for both channels
   * on one connection). A server that does not take two channels on one connection gets one stream
   * per channel instead. If one fails the others are closed and the first failure rejects (as
   * `EarshotClient.connect()` would).
   */
  async connect(): Promise<SessionStartedMessage[]> {
    if (this.oneConnection && this.#probing === undefined) {
      this.#probing = [];
      try {
        const session = await (this.#clients[0] as EarshotClient).connect();
        this.#endProbe(true);
        return [session];
      } catch (error) {
        const refused = error instanceof EarshotClientError && error.code === "unsupported_encoding";
        this.#endProbe(!refused);
        if (!refused) throw error;
        this.#clients = this.#channelClients();
      }
    }
    const opened = await Promise.allSettled(this.#clients.map((c) => c.connect()));
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
    const results = await Promise.all(this.#clients.map((c) => c.close()));
    const lostMs = results.reduce((sum, r) => sum + r.lostMs, 0);
    // One connection: its close is every channel's.
    if (!this.oneConnection) return { channels: results, lostMs };
    // One connection: its close is every channel's, and a lost frame is lost on every channel.
    return { channels: this.speakers.map(() => results[0] as CloseResult), lostMs: lostMs * this.channels };
  }

  #sendChannels(channels: readonly Int16Array[]): boolean {
    if (this.oneConnection) {
      const client = this.#clients[0] as EarshotClient;
      const frames = interleavePcm(channels);
      if (frames.length === 0 || !streaming(client) || client.send(frames)) return true;
      this.#waiting.add(0);
      return false;
    }
    let accepted = true;
    channels.forEach((pcm, c) => {
      const client = this.#clients[c] as EarshotClient;
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
    return this.#clients.filter(streaming);
  }

  #tag(channel: number): ChannelTag {
    const speaker = this.speakers[channel];
    return speaker === undefined ? { channel } : { channel, speaker };
  }

  /** Both channels on one connection: results carry their channel; the rest is every channel's. */
  #pairClient(): EarshotClient {
    const client = new EarshotClient({ ...this.#clientOptions, channels: 2 });
    const every = (emit: (tag: ChannelTag) => void) => {
      for (let c = 0; c < this.channels; c++) emit(this.#tag(c));
    };
    const transcript = (m: TranscriptMessage): ChannelTranscriptMessage => {
      this.#transcripts[m.channel ?? 0]?.add(m);
      return { ...m, ...this.#tag(m.channel ?? 0) };
    };
    client.on("partial", (m) => this.emit("partial", transcript(m)));
    client.on("final", (m) => this.emit("final", transcript(m)));
    client.on("utterance_end", (m) => this.emit("utterance_end", { ...m, ...this.#tag(m.channel ?? 0) }));
    client.on("error", (error) => every((tag) => this.emit("error", { ...tag, error })));
    client.on("warning", (w) => every((tag) => this.emit("warning", { ...w, ...tag })));
    client.on("audio_lost", (l) => every((tag) => this.emit("audio_lost", { ...l, ...tag })));
    client.on("drain", () => this.#drained(0));
    client.on("state", (s) => {
      if (this.#probing) this.#probing.push(s);
      else every((tag) => this.emit("state", { ...s, ...tag }));
      if (s.to === "closed") this.#drained(0);
    });
    return client;
  }

  /** The one-connection client connected, or failed: its state changes are reported (`keep`) or dropped. */
  #endProbe(keep: boolean): void {
    const changes = this.#probing ?? [];
    this.#probing = undefined;
    if (!keep) return;
    for (const s of changes) for (let c = 0; c < this.channels; c++) this.emit("state", { ...s, ...this.#tag(c) });
  }

  #channelClients(): EarshotClient[] {
    return this.speakers.map((_, c) => this.#channelClient(c));
  }

  #channelClient(channel: number): EarshotClient {
    const client = new EarshotClient(this.#clientOptions);
    const tag = this.#tag(channel);
    const transcript = (m: TranscriptMessage): ChannelTranscriptMessage => {
      this.#transcripts[channel]?.add(m);
      return { ...m, ...tag };
    };
    client.on("partial", (m) => this.emit("partial", transcript(m)));
    client.on("final", (m) => this.emit("final", transcript(m)));
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
