/**
 * One WebSocket connection: validates every inbound message at the boundary, keeps the peer alive
 * (ping/pong, and it must take what we send), bounds what waits for it (`OutboundQueue`), and
 * routes messages to its stream session. A session can outlive its connection and
 * be taken over by a new one (`resume`), so the two are separate objects.
 */
import {
  ClientMessageSchema,
  CloseCode,
  ERRORS,
  type ErrorCode,
  isClientMessageType,
  type ServerMessage,
  type TranscriptMessage,
  unknownFields,
  type WarningCode,
} from "@earshot/protocol";
import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import { LivenessClock } from "./liveness-clock.js";
import type { ServerMetrics } from "./metrics.js";
import { OutboundQueue, outboundLimits } from "./outbound-queue.js";
import type { StreamSession } from "./session.js";
import { bytesFromHex, type HexBytes } from "./wire-decoder.js";

export interface ConnectionContext {
  readonly log: Logger;
  readonly maxFrameBytes: number;
  /**
   * Ping the peer this often; drop it when no pong came for `livenessTimeoutMs` of the time its
   * socket was read, or when it took none of our bytes for that long.
   */
  readonly pingIntervalMs: number;
  readonly livenessTimeoutMs: number;
  /** A connection without a session this long after it opened is closed with `config_timeout`. */
  readonly configTimeoutMs: number;
  /** Unread messages (bytes) beyond which the peer is closed with `slow_consumer`. */
  readonly maxOutboundBytes: number;
  readonly metrics: ServerMetrics;
  /** A new session for this connection's `config`; undefined when refused (the error was sent). */
  createSession(connection: Connection): StreamSession | undefined;
  /** The live session a resume token names, if any. */
  findSession(resumeToken: string): StreamSession | undefined;
  /** Whether the session may be taken over now (one that released its decoder needs room); else the error was sent. */
  admitResume(connection: Connection, session: StreamSession): boolean;
  /** The connection got its session (a valid config or resume), once. */
  onSessionBound(): void;
}

export class Connection {
  readonly #ws: WebSocket;
  readonly #context: ConnectionContext;
  readonly #pingTimer: NodeJS.Timeout;
  #configTimer: NodeJS.Timeout | undefined;
  readonly #liveness = new LivenessClock(Date.now());
  readonly #outbound: OutboundQueue;
  /** Cuts a peer that does not finish the closing handshake. */
  #closeTimer: NodeJS.Timeout | undefined;
  #session: StreamSession | undefined;
  #closed = false;
  /** Set when the client asked to end the stream: the close that follows is not a drop. */
  #closeRequested = false;

  constructor(ws: WebSocket, context: ConnectionContext) {
    this.#ws = ws;
    this.#context = context;
    this.#outbound = new OutboundQueue(ws, outboundLimits(context.maxOutboundBytes), {
      overflow: () => this.#tooSlow(),
      coalesced: () => context.metrics.partialCoalesced(),
      waitingBytesChanged: (delta) => context.metrics.outboundWaiting(delta),
    });
    ws.on("message", (data, isBinary) => this.#guarded(data, isBinary));
    ws.on("pong", () => this.#liveness.answered(Date.now()));
    ws.on("close", (code) => this.#guardedWork("closing the connection", () => this.#onClose(code)));
    ws.on("error", (error) => context.log.debug({ err: error }, "socket error"));
    this.#pingTimer = setInterval(
      () => this.#guardedWork("the liveness check", () => this.#checkLiveness()),
      context.pingIntervalMs,
    );
    this.#pingTimer.unref();
    this.#configTimer = setTimeout(() => {
      this.#guardedWork("the config timeout", () =>
        this.#fail("config_timeout", `No valid config or resume within ${context.configTimeoutMs} ms of connecting.`),
      );
    }, context.configTimeoutMs);
    this.#configTimer.unref();
  }

  /** Has a session: sent a valid `config` or `resume`. */
  get bound(): boolean {
    return this.#configTimer === undefined;
  }

  get open(): boolean {
    return !this.#closed && this.#ws.readyState === this.#ws.OPEN;
  }

  send(message: ServerMessage): void {
    if (this.open) this.#outbound.send(message);
  }

  /** A final sent again on resume: the session keeps it, so it may wait without counting as unread. */
  redeliver(final: TranscriptMessage): void {
    if (this.open) this.#outbound.send(final, true);
  }

  warn(code: WarningCode, message: string): void {
    this.send({ type: "warning", code, message });
  }

  /** Sends the error; closes with its close code when it has one. */
  error(code: ErrorCode, message: string = ERRORS[code].summary): void {
    const spec = ERRORS[code];
    if (this.open) this.#context.metrics.error(code);
    this.send({ type: "error", code, message, retryable: spec.retryable });
    if ("close" in spec) this.close(spec.close, code);
  }

  /** What waits for the socket goes first; then the close frame. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#configTimer);
    this.#outbound.flush();
    this.#outbound.close();
    // Reading may be paused (backpressure): the peer's close frame must be read to end the handshake.
    this.#ws.resume();
    this.#ws.close(code, reason);
    // A peer that stopped reading never sees our close frame: cut it rather than wait for ws's 30 s.
    this.#closeTimer = setTimeout(() => this.#ws.terminate(), this.#context.livenessTimeoutMs);
    this.#closeTimer.unref();
  }

  /** An error that ends this connection, not a drop: its session (if any) does not wait for a resume. */
  refuse(code: ErrorCode, message: string): void {
    this.#fail(code, message);
  }

  /** Stop reading the socket (the engine is behind), or start again. */
  pause(paused: boolean): void {
    if (this.#closed) return;
    if (paused) {
      this.#liveness.pause(Date.now());
      this.#ws.pause();
    } else {
      this.#liveness.resume(Date.now());
      this.#ws.resume();
    }
  }

  /**
   * Pings go out while reading is paused too (only the reading time counts toward their answer). A
   * peer that takes none of our bytes for `livenessTimeoutMs` is dropped even while paused: a fast
   * sender that never reads keeps the server paused, so its pongs would never be read.
   */
  #checkLiveness(): void {
    const now = Date.now();
    const { livenessTimeoutMs, log, metrics } = this.#context;
    if (this.#outbound.stalledMs(now) > livenessTimeoutMs) {
      log.info({ session: this.#session?.id }, "peer stopped reading what we send; dropping it");
      metrics.peerDropped("not_reading");
      this.#ws.terminate();
      return;
    }
    if (this.#liveness.unansweredMs(now) > livenessTimeoutMs) {
      log.info({ session: this.#session?.id }, "peer stopped answering pings; dropping it");
      metrics.peerDropped("no_pong");
      this.#ws.terminate();
      return;
    }
    if (this.open) this.#ws.ping();
  }

  /**
   * The peer left more than maxOutboundBytes unread. What waits for it is dropped (the session keeps
   * its finals for the resume the error asks for); the error and the close frame go after what the
   * socket already holds.
   */
  #tooSlow(): void {
    if (this.#closed) return;
    this.#context.log.info({ session: this.#session?.id }, "client reads too slowly; closing it (slow_consumer)");
    this.#outbound.clear();
    this.error(
      "slow_consumer",
      `More than ${this.#context.maxOutboundBytes} bytes of messages waited for this client; resume the session.`,
    );
  }

  /**
   * A close the client started with 1000 (normal closure) ends its stream on purpose, as the seed
   * protocol's clients do when they are done: nothing is kept for a resume. Every other end (a
   * network drop, 1001 from a proxy going away, no close frame) keeps the session for a resume.
   */
  #onClose(code: number): void {
    const endedByClient = !this.#closed && code === CloseCode.normal;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#configTimer);
    clearTimeout(this.#closeTimer);
    this.#outbound.close();
    this.#session?.detach(this, this.#closeRequested || endedByClient);
  }

  /** Work from a timer or a socket event: a bug in it ends this connection (logged), never the process. */
  #guardedWork(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#context.log.error({ err: error, session: this.#session?.id }, `${what} failed`);
      this.#ws.terminate();
    }
  }

  /** A bug met while handling one message ends that connection, never the process. */
  #guarded(data: RawData, isBinary: boolean): void {
    try {
      this.#onMessage(data, isBinary);
    } catch (error) {
      this.#context.log.error({ err: error, session: this.#session?.id }, "message handler failed");
      this.#closeRequested = false;
      this.error("internal_error");
    }
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (bytes.byteLength > this.#context.maxFrameBytes) {
      this.#fail(
        "frame_too_large",
        `Message of ${bytes.byteLength} bytes; the limit is ${this.#context.maxFrameBytes}.`,
      );
      return;
    }
    if (isBinary) {
      this.#onAudio({ ok: true, bytes }, false);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString("utf8"));
    } catch {
      this.error("bad_json", "Text frames must be JSON objects; send audio as binary frames or audio_chunk.");
      return;
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      this.error("invalid_message", "A message must be a JSON object with a string `type`.");
      return;
    }
    const record = raw as Record<string, unknown>;
    if (!isClientMessageType(record.type)) {
      const shown =
        typeof record.type === "string" ? JSON.stringify(record.type.slice(0, 64)) : `of type ${typeof record.type}`;
      this.error("unknown_message_type", `Unknown message type ${shown}.`);
      return;
    }
    const parsed = ClientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "message";
      this.error("invalid_message", `${record.type}: ${where}: ${issue?.message ?? "invalid"}.`);
      return;
    }
    const unknown = unknownFields(record);
    if (unknown.length > 0) this.warn("unknown_field", `Ignored unknown field(s): ${unknown.join(", ")}.`);
    const message = parsed.data;
    const session = this.#session;
    switch (message.type) {
      case "config":
        if (session) {
          this.error("config_already_set", "The stream is already configured; open a new connection to change it.");
          return;
        }
        {
          const created = this.#context.createSession(this);
          if (created?.configure(message.config)) this.#bind(created);
        }
        return;
      case "resume": {
        if (session) {
          this.error("invalid_message", "resume must be the first message on a connection.");
          return;
        }
        const found = this.#context.findSession(message.resume_token);
        if (!found) {
          this.error("session_not_found", "No session to resume; send config with start_sample to start a new one.");
          return;
        }
        if (!this.#context.admitResume(this, found)) return;
        this.#bind(found);
        found.attach(this, message.last_segment_id);
        return;
      }
      case "audio_chunk":
        this.#onAudio(bytesFromHex(message.audio), true);
        return;
      case "finalize":
        if (session) session.finalize();
        else this.error("invalid_message", "finalize before config: send a config message first.");
        return;
      case "close_stream":
        this.#closeRequested = true;
        if (session) session.finish();
        else this.close(CloseCode.normal, "stream closed");
        return;
      case "keepalive":
        return;
    }
  }

  #bind(session: StreamSession): void {
    this.#session = session;
    if (this.#configTimer === undefined) return;
    clearTimeout(this.#configTimer);
    this.#configTimer = undefined;
    this.#context.onSessionBound();
  }

  #onAudio(audio: HexBytes, isHex: boolean): void {
    const session = this.#session;
    if (!session?.configured) {
      this.error("audio_before_config", "Send a config message before audio.");
      return;
    }
    if (!audio.ok) {
      this.error("invalid_audio", audio.message);
      return;
    }
    if (audio.bytes.byteLength === 0) {
      this.warn("empty_audio", "An audio message carried no samples; it was ignored.");
      return;
    }
    const invalid = session.audio(audio.bytes, isHex);
    if (invalid !== undefined) this.error("invalid_audio", invalid);
  }

  /** A connection-level error that also ends the stream (no resume after it). */
  #fail(code: ErrorCode, message: string): void {
    this.#closeRequested = true;
    this.error(code, message);
    if (!("close" in ERRORS[code])) this.close(CloseCode.policyViolation, code);
  }
}
