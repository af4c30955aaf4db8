/** The client's public types: states, events, options, close result. */
import type {
  Encoding,
  SessionStartedMessage,
  TranscriptMessage,
  UtteranceEndMessage,
  WarningCode,
} from "@earshot/protocol";
import type { AudioLoss } from "./audio-sender.js";
import type { TokenProvider } from "./credentials.js";
import type { EarshotClientError } from "./errors.js";
import type { AudioMode, Chunking, ChunkingPreset, ClientStreamConfig } from "./options.js";
import type { BackoffOptions } from "./reconnect.js";
import type { TransportFactory } from "./transport.js";

/**
 * idle → connecting → open → closing → closed; a dropped connection goes open/closing →
 * reconnecting (→ reconnecting for each further attempt) → open. Any state can end in closed.
 */
export type ClientState = "idle" | "connecting" | "open" | "reconnecting" | "closing" | "closed";

/** The transitions each state allows (anything else is a bug: `invalid_state`). */
export const TRANSITIONS: { readonly [S in ClientState]: readonly ClientState[] } = {
  idle: ["connecting", "closed"],
  connecting: ["open", "closed"],
  open: ["reconnecting", "closing", "closed"],
  reconnecting: ["reconnecting", "open", "closed"],
  closing: ["reconnecting", "closed"],
  closed: [],
};

export interface StateChange {
  readonly from: ClientState;
  readonly to: ClientState;
  /** `reconnecting`: this attempt's number, 1 for the first after a drop. */
  readonly attempt?: number;
  /** `reconnecting`: the wait before this attempt. */
  readonly delayMs?: number;
  /** `reconnecting`: why the previous connection (or attempt) ended; `closed`: why the client ended, if it failed. */
  readonly error?: EarshotClientError;
  /** `open` after `reconnecting`: true if the server resumed the session, false if a new one started. */
  readonly resumed?: boolean;
  /**
   * `open` after `reconnecting`, resumed: true when another node of a cluster continued the session
   * (`session_resumed.moved`: its node was gone or draining).
   */
  readonly moved?: boolean;
  /** `closed`: a short description of how the stream ended. */
  readonly reason?: string;
}

export interface ClientWarning {
  readonly code: WarningCode;
  readonly message: string;
}

export interface AudioLostEvent extends AudioLoss {
  /**
   * `overflow`: the replay buffer evicted audio no server had (sent as silence, so later times stay
   * stream-absolute). `ended`: the client ended without the finals for this audio.
   */
  readonly reason: "overflow" | "ended";
}

export interface CloseResult {
  /** WebSocket close code (1000 after a clean `close_stream`; 1006 when the client gave up). */
  readonly code: number;
  readonly reason: string;
  /** Audio the server consumed, from `stream_closed` (undefined if it never came). */
  readonly audioMs: number | undefined;
  /** Audio that never got its finals over the whole stream: the sum of the `audio_lost` events. */
  readonly lostMs: number;
}

export type ClientEvents = {
  partial: TranscriptMessage;
  /**
   * Exactly once per segment_id, in increasing order, across reconnects. `speech_final` tells
   * whether the utterance ended at a pause (true) or was cut by `finalize`/`close()` (false).
   */
  final: TranscriptMessage;
  /**
   * The speaker paused after the final `segment_id` (speech ended at `last_word_end_ms`); with
   * `config.endpointing_ms` setting how long a pause counts. Not repeated after a reconnect.
   */
  utterance_end: UtteranceEndMessage;
  error: EarshotClientError;
  warning: ClientWarning;
  state: StateChange;
  /** A server session started: the first, or a new one after the server lost the old one. */
  session: SessionStartedMessage;
  /** All audio sent so far is on the socket again, after `send()` returned false. */
  drain: undefined;
  audio_lost: AudioLostEvent;
};

export interface EarshotClientCoreOptions {
  /** Server base URL (`http://host:port`, `wss://host`) or the full stream endpoint URL. */
  readonly url: string;
  /** An API key (Node, servers, trusted tools). Not with `token`. */
  readonly apiKey?: string;
  /**
   * A stream token (`POST /v1/auth/token`; what a web page should hold instead of a key), or a
   * provider that returns fresh ones: it is called before the first connection, and again when the
   * server refuses the token with `invalid_token` after it had worked (the server restarted, or the
   * session expired while disconnected), so the stream goes on in a new session. A plain token that
   * dies ends the stream with `invalid_token`. Not with `apiKey`.
   */
  readonly token?: string | TokenProvider;
  /** Stream settings; `language` defaults to "en". */
  readonly config?: ClientStreamConfig;
  /** Default "binary". */
  readonly mode?: AudioMode;
  /**
   * Audio encoding on the wire (you still `send()` 16 kHz PCM; the client encodes): `pcm_s16le`
   * (default, 32 000 B/s), `mulaw` / `alaw` (8 kHz G.711, 8000 B/s), `opus` (20 ms packets at
   * ~20 kbit/s). Not pcm_s16le: chunks cannot overlap. See docs/protocol.md, "Encodings".
   */
  readonly encoding?: Encoding;
  /** Default `low-latency` (binary) or `seed-en` / `seed-zh` (seed, by language). */
  readonly chunking?: ChunkingPreset | Chunking;
  /**
   * Channels in the audio `send()` takes (default 1). 2: interleaved frames (one sample of each
   * channel, 16 kHz PCM16) on one connection (`config.channels: 2`); every transcript event carries
   * its `channel`, and `transcripts` holds each channel's. Not with `opus`; chunks do not overlap.
   * A server that does not take two channels fails `connect()` with `unsupported_encoding`.
   */
  readonly channels?: 1 | 2;
  readonly transport: TransportFactory;
  /** Reconnect after a dropped connection (default on), or `false`. See docs/reliability.md. */
  readonly reconnect?: boolean | BackoffOptions;
  /**
   * Audio kept for replay: what the server has not acknowledged, what follows the last final, and
   * what waits for the socket. Beyond it the oldest goes (`audio_lost`). Default 60 000.
   */
  readonly maxBufferedAudioMs?: number;
  /** Socket `bufferedAmount` above which audio waits in the buffer. Default 64 KiB (2 s of audio). */
  readonly maxBufferedBytes?: number;
  /** Per connection attempt: socket, handshake and `session_started`/`session_resumed`. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** A connection silent this long is dropped as dead (the server acks every second). Default 5 000. */
  readonly heartbeatTimeoutMs?: number;
  /**
   * How long `close()` waits without progress (a final, or an ack of more audio) for the last
   * finals, through reconnects, before giving up. Default 10 000.
   */
  readonly closeTimeoutMs?: number;
}
