/**
 * One AssemblyAI `/v3/ws` stream (one WebSocket), driving an earshot `StreamSession` as its
 * connection: the session's messages go out as AssemblyAI's (`Begin`, `Turn`, `Termination`), and
 * AssemblyAI's client messages become the session's calls (`ForceEndpoint` → finalize, `Terminate`
 * → close_stream). The stream is set up from its upgrade (`AaiSetup`): credential, parameters, then
 * admission, each refusal an `Error` frame and a close with AssemblyAI's code (aai-errors.ts).
 *
 * AssemblyAI has no resume: a socket that goes without `Terminate` ends its session at once.
 * Every bug in handling a frame or a timer ends this stream with 3005, never the process.
 */
import {
  AAI_CLIENT_MESSAGE_TYPES,
  type AaiBegin,
  type AaiClientMessage,
  AaiClientMessageSchema,
  type AaiTermination,
  type AaiTurn,
  CloseCode,
  ERRORS,
  type ErrorCode,
  type ServerMessage,
  type StreamConfig,
} from "@earshot/protocol";
import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import type { DropReason } from "../../metrics.js";
import { OutboundQueue, outboundLimits } from "../../outbound-queue.js";
import { type LivenessTiming, PeerLiveness } from "../../peer-liveness.js";
import type { StreamSession } from "../../session.js";
import type { SessionConnection } from "../../session-types.js";
import { AaiAudioInput } from "./aai-audio.js";
import { AAI_ERRORS, type AaiErrorCode, type AaiErrorFrame, aaiCodeOf, aaiErrorFrame } from "./aai-errors.js";
import type { AaiMetrics, AaiStreamResult } from "./aai-metrics.js";
import type { AaiStreamParams } from "./aai-params.js";
import { AaiTurns } from "./aai-turns.js";

/** What the upgrade decided: who the stream acts for and what it asked, or why it is refused. */
export type AaiSetup =
  | { readonly ok: true; readonly credential: AaiCredential; readonly params: AaiStreamParams }
  | { readonly ok: false; readonly code: AaiErrorCode; readonly why: string };

export interface AaiCredential {
  readonly key: string;
  readonly by: "api_key" | "token";
  /** The stream ended: its connection count (and token) are given back. Idempotent. */
  release(): void;
}

export type OpenedSession =
  | { readonly ok: true; readonly session: StreamSession }
  | { readonly ok: false; readonly code: AaiErrorCode; readonly why: string };

export interface AaiStreamContext extends LivenessTiming {
  readonly log: Logger;
  readonly metrics: AaiMetrics;
  readonly maxOutboundBytes: number;
  /** The longest session: `Begin`'s `expires_at`. */
  readonly maxSessionMs: number;
  peerDropped(reason: DropReason): void;
  /** A session of `key` admitted and registered (not configured yet), or why not. */
  openSession(connection: SessionConnection, key: string): OpenedSession;
}

type AaiServerFrame = AaiBegin | AaiTurn | AaiTermination | AaiErrorFrame;

export class AaiStream implements SessionConnection {
  readonly #ws: WebSocket;
  readonly #context: AaiStreamContext;
  #log: Logger;
  readonly #outbound: OutboundQueue<AaiServerFrame>;
  readonly #liveness: PeerLiveness;
  readonly #startedAt = Date.now();
  #credential: AaiCredential | undefined;
  #session: StreamSession | undefined;
  #audio: AaiAudioInput | undefined;
  #turns: AaiTurns | undefined;
  #terminated = false;
  /** The session's last error that did not end the stream by itself (for the close that may follow). */
  #lastError: { readonly code: ErrorCode; readonly message: string } | undefined;
  /** Inside `session.configure`: any error it reports refuses the stream. */
  #configuring = false;
  #closed = false;
  #closeTimer: NodeJS.Timeout | undefined;
  /** How the stream ended, once it did. */
  #result: AaiStreamResult | undefined;
  #audioMs = 0;

  constructor(ws: WebSocket, context: AaiStreamContext, setup: AaiSetup) {
    this.#ws = ws;
    this.#context = context;
    this.#log = context.log;
    this.#outbound = new OutboundQueue<AaiServerFrame>(ws, outboundLimits(context.maxOutboundBytes), {
      overflow: () => this.#fail("session_cancelled", "the client read too slowly"),
      coalesced: () => {},
      waitingBytesChanged: () => {},
    });
    ws.on("message", (data, isBinary) => this.#guarded("a message", () => this.#onMessage(data, isBinary)));
    ws.on("close", () => this.#guarded("the close", () => this.#onClose()));
    ws.on("pong", () => this.#liveness.answered());
    ws.on("error", (error) => this.#log.debug({ err: error }, "assemblyai socket error"));
    this.#liveness = new PeerLiveness(
      context,
      {
        stalledMs: (now) => this.#outbound.stalledMs(now),
        ping: () => {
          if (!this.#closed) this.#ws.ping();
        },
        drop: (reason) => {
          this.#log.info({ reason }, "assemblyai client stopped answering; dropping it");
          context.peerDropped(reason);
          this.#ws.terminate();
        },
      },
      (check) => this.#guarded("the liveness check", check),
    );
    this.#guarded("the setup", () => this.#start(setup));
  }

  #start(setup: AaiSetup): void {
    if (!setup.ok) {
      this.#fail(setup.code, setup.why);
      return;
    }
    const { credential, params } = setup;
    this.#credential = credential;
    const opened = this.#context.openSession(this, credential.key);
    if (!opened.ok) {
      this.#fail(opened.code, opened.why);
      return;
    }
    const { session } = opened;
    this.#session = session;
    this.#log = this.#context.log.child({ session: session.id });
    const audio = new AaiAudioInput(params.encoding, params.sampleRate);
    this.#audio = audio;
    this.#turns = new AaiTurns(params.formatTurns);
    const config: StreamConfig = { ...params.config, ...audio.sessionFormat };
    // A config the engine refuses is sent to `error` by the session: it ends the stream (3006).
    this.#configuring = true;
    try {
      session.configure(config);
    } finally {
      this.#configuring = false;
    }
    this.#log.info({ by: credential.by, ignored: params.ignored }, "assemblyai stream started");
  }

  // SessionConnection: what the session would send a client of earshot's own protocol.

  send(message: ServerMessage): void {
    const turns = this.#turns;
    switch (message.type) {
      case "session_started":
        this.#write({
          type: "Begin",
          id: message.session_id,
          expires_at: Math.floor((this.#startedAt + this.#context.maxSessionMs) / 1000),
        });
        return;
      case "transcript":
        for (const turn of turns?.from(message) ?? []) this.#write(turn);
        return;
      case "stream_closed":
        this.#result ??= "ok";
        this.#write({
          type: "Termination",
          audio_duration_seconds: Math.round(message.audio_ms / 1000),
          session_duration_seconds: Math.round((Date.now() - this.#startedAt) / 1000),
        });
        return;
      case "warning":
        this.#log.warn({ code: message.code }, message.message);
        return;
      default:
        // ack, checkpoint, utterance_end, session_resumed: earshot's own protocol, nothing in AssemblyAI's.
        return;
    }
  }

  redeliver(): void {
    // AssemblyAI streams are never resumed.
  }

  error(code: ErrorCode, message: string = ERRORS[code].summary): void {
    if ("close" in ERRORS[code] || this.#configuring) {
      this.#fail(aaiCodeOf(code), message);
      return;
    }
    // An error that leaves earshot's own connections open: the session may close us next.
    this.#log.warn({ code }, message);
    this.#lastError = { code, message };
  }

  close(code: number, reason: string): void {
    if (code === CloseCode.normal) {
      this.#close(code, reason);
      return;
    }
    // Every AssemblyAI error close comes after its Error frame.
    const last = this.#lastError;
    this.#fail(last ? aaiCodeOf(last.code) : "session_cancelled", last?.message ?? reason);
  }

  pause(paused: boolean): void {
    if (this.#closed) return;
    this.#liveness.pause(paused);
    if (paused) this.#ws.pause();
    else this.#ws.resume();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed || !this.#session) return;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) this.#onAudio(this.#session, bytes);
    else this.#onText(this.#session, bytes.toString("utf8"));
  }

  #onAudio(session: StreamSession, bytes: Uint8Array): void {
    if (this.#terminated || !this.#audio || bytes.byteLength === 0) return;
    const frame = this.#audio.frame(bytes);
    if (!frame.ok) {
      this.#fail(frame.code, frame.why);
      return;
    }
    this.#audioMs += this.#audio.durationMs(bytes.byteLength);
    const invalid = session.audio(frame.bytes, false);
    if (invalid !== undefined) this.#fail("invalid_message", invalid);
  }

  #onText(session: StreamSession, text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.#fail("invalid_json", text.slice(0, 64));
      return;
    }
    const parsed = AaiClientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
      if (typeof type === "string" && !AAI_CLIENT_MESSAGE_TYPES.includes(type)) {
        this.#fail("invalid_message_type", type.slice(0, 64));
      } else {
        const issue = parsed.error.issues[0];
        this.#fail("invalid_message", `${issue?.path.join(".") || "message"}: ${issue?.message ?? "invalid"}`);
      }
      return;
    }
    this.#dispatch(session, parsed.data);
  }

  #dispatch(session: StreamSession, message: AaiClientMessage): void {
    switch (message.type) {
      case "ForceEndpoint":
        session.finalize();
        return;
      case "UpdateConfiguration":
        if (message.format_turns !== undefined && this.#turns) this.#turns.formatTurns = message.format_turns;
        return;
      case "KeepAlive":
        return;
      case "Terminate": {
        if (this.#terminated) return;
        this.#terminated = true;
        const tail = this.#audio?.flush();
        if (tail) session.audio(tail, false);
        session.finish();
        return;
      }
    }
  }

  /** An error that ends the stream: the `Error` frame, then the close with its code. */
  #fail(code: AaiErrorCode, why: string): void {
    if (this.#closed) return;
    this.#result ??= code;
    this.#log.info({ code }, `assemblyai stream ended: ${why}`);
    const frame: AaiErrorFrame = aaiErrorFrame(code, why);
    this.#write(frame);
    this.#close(AAI_ERRORS[code].closeCode, AAI_ERRORS[code].reason);
  }

  #write(frame: AaiServerFrame): void {
    if (!this.#closed) this.#outbound.send(frame);
  }

  /** What waits for the socket goes first; then the close frame. */
  #close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#liveness.stop();
    this.#outbound.flush();
    this.#outbound.close();
    this.#ws.resume();
    this.#ws.close(code, reason.slice(0, 120));
    // A peer that stopped reading never sees our close frame: cut it rather than wait for ws's 30 s.
    this.#closeTimer = setTimeout(() => this.#ws.terminate(), this.#context.livenessTimeoutMs);
    this.#closeTimer.unref();
  }

  #onClose(): void {
    this.#closed = true;
    this.#liveness.stop();
    clearTimeout(this.#closeTimer);
    this.#outbound.close();
    // No resume in AssemblyAI's protocol: the session ends with its socket, even mid-`Terminate`
    // (`detach` would keep a draining session for a resume; `expire` ends it).
    this.#session?.detach(this, true);
    this.#session?.expire();
    this.#credential?.release();
    this.#context.metrics.ended(this.#result ?? "dropped", this.#audioMs);
  }

  #guarded(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#log.error({ err: error }, `assemblyai stream: ${what} failed`);
      if (this.#closed) this.#ws.terminate();
      else this.#fail("session_cancelled", "an internal error");
    }
  }
}
