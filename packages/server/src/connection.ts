/**
 * One WebSocket connection: validates every inbound message at the boundary (`readClientFrame`),
 * keeps the peer alive (`PeerLiveness`: ping/pong, and it must take what we send), bounds what waits
 * for it (`OutboundQueue`), and routes messages to its stream session. A session can outlive its
 * connection and be taken over by a new one (`resume`), so the two are separate objects.
 */
import {
  type ClientMessage,
  CloseCode,
  ERRORS,
  type ErrorCode,
  type ResumeMessage,
  type ServerMessage,
  type TranscriptMessage,
  type WarningCode,
} from "@earshot/protocol";
import type { RawData, WebSocket } from "ws";
import { readClientFrame } from "./client-frame.js";
import { type ClientSession, lastSegmentIdsOf } from "./client-session.js";
import type { ClusterResume, ConnectionContext } from "./connection-context.js";
import type { DropReason } from "./metrics.js";
import { OutboundQueue, outboundLimits } from "./outbound-queue.js";
import { PeerLiveness } from "./peer-liveness.js";
import { bytesFromHex, type HexBytes } from "./wire-decoder.js";

export class Connection {
  readonly #ws: WebSocket;
  readonly #context: ConnectionContext;
  readonly #liveness: PeerLiveness;
  #configTimer: NodeJS.Timeout | undefined;
  readonly #outbound: OutboundQueue;
  /** Cuts a peer that does not finish the closing handshake. */
  #closeTimer: NodeJS.Timeout | undefined;
  #session: ClientSession | undefined;
  #closed = false;
  /** Set when the client asked to end the stream: the close that follows is not a drop. */
  #closeRequested = false;
  /** A `resume` is being looked up in the cluster (another node held the session). */
  #resuming = false;

  constructor(ws: WebSocket, context: ConnectionContext) {
    this.#ws = ws;
    this.#context = context;
    this.#outbound = new OutboundQueue(ws, outboundLimits(context.maxOutboundBytes), {
      overflow: () => this.#tooSlow(),
      coalesced: () => context.metrics.partialCoalesced(),
      waitingBytesChanged: (delta) => context.metrics.outboundWaiting(delta),
    });
    ws.on("message", (data, isBinary) => this.#guarded(data, isBinary));
    ws.on("pong", () => this.#liveness.answered());
    ws.on("close", (code) => this.#guardedWork("closing the connection", () => this.#onClose(code)));
    ws.on("error", (error) => context.log.debug({ err: error }, "socket error"));
    this.#liveness = new PeerLiveness(
      context,
      {
        stalledMs: (now) => this.#outbound.stalledMs(now),
        ping: () => {
          if (this.open) this.#ws.ping();
        },
        drop: (reason) => this.#drop(reason),
      },
      (check) => this.#guardedWork("the liveness check", check),
    );
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
    this.#liveness.stop();
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
    this.#liveness.pause(paused);
    if (paused) this.#ws.pause();
    else this.#ws.resume();
  }

  /** The liveness checks found the peer gone. */
  #drop(reason: DropReason): void {
    const what = reason === "no_pong" ? "stopped answering pings" : "stopped reading what we send";
    this.#context.log.info({ session: this.#session?.id }, `peer ${what}; dropping it`);
    this.#context.metrics.peerDropped(reason);
    this.#ws.terminate();
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
    this.#liveness.stop();
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
    const frame = readClientFrame(data, isBinary, this.#context.maxFrameBytes);
    switch (frame.kind) {
      case "too_large":
        this.#fail("frame_too_large", frame.message);
        return;
      case "invalid":
        this.error(frame.code, frame.message);
        return;
      case "audio":
        this.#onAudio({ ok: true, bytes: frame.bytes }, false);
        return;
      case "message":
        if (frame.unknownFields.length > 0) {
          this.warn("unknown_field", `Ignored unknown field(s): ${frame.unknownFields.join(", ")}.`);
        }
        this.#dispatch(frame.message);
        return;
    }
  }

  #dispatch(message: ClientMessage): void {
    const session = this.#session;
    switch (message.type) {
      case "config": {
        if (this.#resuming) {
          this.error("invalid_message", "Wait for the answer to resume before sending config.");
          return;
        }
        if (session) {
          this.error("config_already_set", "The stream is already configured; open a new connection to change it.");
          return;
        }
        const created = this.#context.createSession(this, message.config);
        if (!created) return;
        if (created.configure(message.config)) this.#bind(created);
        else this.#context.configRefused();
        return;
      }
      case "resume": {
        if (session || this.#resuming) {
          this.error("invalid_message", "resume must be the first message on a connection.");
          return;
        }
        const found = this.#context.findSession(message.resume_token);
        const clusterResume = this.#context.clusterResume;
        if (clusterResume) this.#resumeInCluster(clusterResume, found, message);
        else if (found) this.#resumeHere(found, message);
        else this.#sessionNotFound();
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

  /** Takes over a session held here. */
  #resumeHere(found: ClientSession, message: ResumeMessage): void {
    const lastSegmentIds = lastSegmentIdsOf(message, found.channels);
    if (!lastSegmentIds.ok) {
      this.error("invalid_message", lastSegmentIds.message);
      return;
    }
    this.#context.metrics.resume("resumed");
    if (!this.#context.admitResume(this, found)) return;
    this.#bind(found);
    found.resume(this, lastSegmentIds.ids);
  }

  #sessionNotFound(): void {
    this.#context.metrics.resume("not_found");
    this.error("session_not_found", "No session to resume; send config with start_sample to start a new one.");
  }

  /**
   * A resume in a cluster: a session held here is resumed here unless another node took it over
   * meanwhile (then this copy ends); a session not held here may be continued from its record
   * (`ClusterResume`). Messages that come while Redis is asked are refused (`#resuming`).
   */
  #resumeInCluster(cluster: ClusterResume, found: ClientSession | undefined, message: ResumeMessage): void {
    this.#resuming = true;
    const resume = async (): Promise<void> => {
      if (found && (await cluster.stillHere(found, message.resume_token))) {
        this.#resuming = false;
        // It may have ended while Redis was asked.
        if (this.#closed) return;
        if (this.#context.findSession(message.resume_token) === found) this.#resumeHere(found, message);
        else this.#sessionNotFound();
        return;
      }
      const session = await cluster.takeOver(this, message);
      this.#resuming = false;
      this.#context.metrics.resume(session ? "resumed" : "not_found");
      if (!session) return;
      this.#bind(session);
      // The client left while the session was looked up: the session now waits for it.
      if (this.#closed) session.detach(this, this.#closeRequested);
    };
    resume().catch((error: unknown) => {
      this.#resuming = false;
      this.#context.log.error({ err: error }, "resume in the cluster failed");
      this.error("internal_error");
    });
  }

  #bind(session: ClientSession): void {
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
