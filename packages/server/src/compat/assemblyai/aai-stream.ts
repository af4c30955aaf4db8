/**
 * One AssemblyAI `/v3/ws` stream (one WebSocket), driving an earshot `StreamSession` as its
 * connection: the session's messages go out as AssemblyAI's (`Begin`, `Turn`, `Termination`), and
 * AssemblyAI's client messages become the session's calls (`ForceEndpoint` → finalize, `Terminate`
 * → close_stream). The stream is set up from its upgrade (`AaiSetup`): credential, parameters, then
 * admission, each refusal an `Error` frame and a close with AssemblyAI's code (aai-errors.ts).
 *
 * States (`TRANSITIONS`): `setting_up` (the constructor), `streaming` (audio and messages taken),
 * `terminating` (after `Terminate`: the last turns, then `Termination`), `closed`. AssemblyAI has no
 * resume: a socket that goes, whatever the state, ends its session at once. Every bug in handling
 * a frame or a timer ends this stream with 3005, never the process.
 */
import {
  type AaiBegin,
  type AaiClientMessage,
  type AaiTermination,
  type AaiTurn,
  CloseCode,
  defineError,
  ERRORS,
  type ErrorCode,
  type ServerMessage,
  type StreamConfig,
} from "@earshot/protocol";
import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import { OutboundQueue, outboundLimits } from "../../outbound-queue.js";
import { PeerLiveness } from "../../peer-liveness.js";
import type { StreamSession } from "../../session.js";
import type { SessionConnection } from "../../session-types.js";
import { AaiAudioInput } from "./aai-audio.js";
import { readAaiFrame } from "./aai-client-frame.js";
import { AAI_ERRORS, type AaiErrorCode, type AaiErrorFrame, aaiCodeOf, aaiErrorFrame } from "./aai-errors.js";
import type { AaiStreamResult } from "./aai-metrics.js";
import type { AaiCredential, AaiSetup, AaiStreamContext } from "./aai-setup.js";
import { AaiTurns } from "./aai-turns.js";

type AaiServerFrame = AaiBegin | AaiTurn | AaiTermination | AaiErrorFrame;

export type AaiStreamState = "setting_up" | "streaming" | "terminating" | "closed";

const TRANSITIONS: { readonly [S in AaiStreamState]: readonly AaiStreamState[] } = {
  setting_up: ["streaming", "closed"],
  streaming: ["terminating", "closed"],
  terminating: ["closed"],
  closed: [],
};

export class AaiStreamStateError extends defineError("AaiStreamStateError", "invalid_state") {}

export class AaiStream implements SessionConnection {
  readonly #ws: WebSocket;
  readonly #context: AaiStreamContext;
  #log: Logger;
  readonly #outbound: OutboundQueue<AaiServerFrame>;
  readonly #liveness: PeerLiveness;
  readonly #startedAt = Date.now();
  #maxSessionMs: number;
  #credential: AaiCredential | undefined;
  #session: StreamSession | undefined;
  #audio: AaiAudioInput | undefined;
  #turns: AaiTurns | undefined;
  #state: AaiStreamState = "setting_up";
  /** The session's last error that did not end the stream by itself (for the close that may follow). */
  #lastError: { readonly code: ErrorCode; readonly message: string } | undefined;
  /** Inside `session.configure`: any error it reports refuses the stream. */
  #configuring = false;
  #closeTimer: NodeJS.Timeout | undefined;
  /** How the stream ended, once it did. */
  #result: AaiStreamResult | undefined;
  #audioMs = 0;

  constructor(ws: WebSocket, context: AaiStreamContext, setup: AaiSetup) {
    this.#ws = ws;
    this.#context = context;
    this.#log = context.log;
    this.#maxSessionMs = context.maxSessionMs;
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
          if (this.#state !== "closed") this.#ws.ping();
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
    this.#maxSessionMs = Math.min(this.#context.maxSessionMs, credential.maxSessionMs ?? Number.POSITIVE_INFINITY);
    const opened = this.#context.openSession(this, credential.key, this.#maxSessionMs);
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
    // Refused by the engine, the stream is closed already.
    if (this.#state === "setting_up") this.#transition("streaming");
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
          expires_at: Math.floor((this.#startedAt + this.#maxSessionMs) / 1000),
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
    if (this.#state === "closed") return;
    this.#liveness.pause(paused);
    if (paused) this.#ws.pause();
    else this.#ws.resume();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const session = this.#session;
    if (this.#state === "closed" || !session) return;
    const frame = readAaiFrame(data, isBinary);
    switch (frame.kind) {
      case "fault":
        this.#fail(frame.code, frame.why);
        return;
      case "audio":
        this.#onAudio(session, frame.bytes);
        return;
      case "message":
        this.#dispatch(session, frame.message);
        return;
    }
  }

  #onAudio(session: StreamSession, bytes: Uint8Array): void {
    // Audio after `Terminate` comes after the stream's end: dropped.
    if (this.#state !== "streaming" || !this.#audio || bytes.byteLength === 0) return;
    const frame = this.#audio.frame(bytes);
    if (!frame.ok) {
      this.#fail(frame.code, frame.why);
      return;
    }
    this.#audioMs += this.#audio.durationMs(bytes.byteLength);
    const invalid = session.audio(frame.bytes, false);
    if (invalid !== undefined) this.#fail("invalid_message", invalid);
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
        if (this.#state !== "streaming") return;
        this.#transition("terminating");
        const tail = this.#audio?.flush();
        if (tail) session.audio(tail, false);
        session.finish();
        return;
      }
    }
  }

  /** An error that ends the stream: the `Error` frame, then the close with its code. */
  #fail(code: AaiErrorCode, why: string): void {
    if (this.#state === "closed") return;
    this.#result ??= code;
    this.#log.info({ code }, `assemblyai stream ended: ${why}`);
    const frame: AaiErrorFrame = aaiErrorFrame(code, why);
    this.#write(frame);
    this.#close(AAI_ERRORS[code].closeCode, AAI_ERRORS[code].reason);
  }

  #write(frame: AaiServerFrame): void {
    if (this.#state !== "closed") this.#outbound.send(frame);
  }

  /** What waits for the socket goes first; then the close frame. */
  #close(code: number, reason: string): void {
    if (this.#state === "closed") return;
    this.#transition("closed");
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
    if (this.#state !== "closed") this.#transition("closed");
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

  #transition(to: AaiStreamState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new AaiStreamStateError(`Illegal AssemblyAI stream transition ${this.#state} → ${to}.`);
    }
    this.#state = to;
  }

  /** A bug in handling this stream ends it (logged), never the process or another stream. */
  #guarded(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#log.error({ err: error }, `assemblyai stream: ${what} failed`);
      if (this.#state === "closed") this.#ws.terminate();
      else this.#fail("session_cancelled", "an internal error");
    }
  }
}
