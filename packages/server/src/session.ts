/**
 * One WebSocket connection = one stream: awaiting_config → opening → streaming → closing → closed.
 * Validates every inbound message, feeds audio to an engine stream and relays its events as
 * `transcript` messages with stream-absolute times.
 */
import { randomUUID } from "node:crypto";
import type { Engine, EngineEvent, EngineStream, TranscriptEvent } from "@earshot/engines";
import {
  ClientMessageSchema,
  CloseCode,
  ERRORS,
  type ErrorCode,
  isClientMessageType,
  PROTOCOL_VERSION,
  type ServerMessage,
  type StreamConfig,
  samplesToMs,
  unknownFields,
  WARNINGS,
  type WarningCode,
} from "@earshot/protocol";
import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import { pcmFromBytes, pcmFromHex } from "./audio-input.js";
import { OverlapRemover } from "./overlap.js";
import { type ResolvedConfig, resolveConfig } from "./stream-config.js";

export interface SessionLimits {
  /** Largest WebSocket message accepted; larger ones end the stream with `frame_too_large`. */
  readonly maxFrameBytes: number;
  /** Longest stream, in audio and in wall-clock time, before `session_too_long`. */
  readonly maxSessionMs: number;
  /** Audio held while the engine stream opens; more than this ends the stream (engine too slow). */
  readonly maxPendingMs: number;
}

type State = "awaiting_config" | "opening" | "streaming" | "closing" | "closed";

export class StreamSession {
  readonly id = randomUUID();
  readonly #ws: WebSocket;
  readonly #engine: Engine;
  readonly #limits: SessionLimits;
  readonly #log: Logger;
  readonly #wallClockTimer: NodeJS.Timeout;
  #state: State = "awaiting_config";
  #config: ResolvedConfig | undefined;
  #stream: EngineStream | undefined;
  #overlap: OverlapRemover | undefined;
  /** Audio received while the engine stream was opening. */
  #pending: Int16Array[] = [];
  #pendingSamples = 0;
  #closeRequested = false;
  #samplesIn = 0;
  #segmentId = 0;
  #segmentHasOutput = false;
  #lastPartial = "";
  #pumpDone: Promise<void> = Promise.resolve();

  constructor(ws: WebSocket, engine: Engine, limits: SessionLimits, log: Logger) {
    this.#ws = ws;
    this.#engine = engine;
    this.#limits = limits;
    this.#log = log.child({ session: this.id });
    this.#wallClockTimer = setTimeout(() => this.#fail("session_too_long"), limits.maxSessionMs);
    this.#wallClockTimer.unref();
    ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on("close", () => this.#dispose());
    ws.on("error", (error) => this.#log.debug({ err: error }, "socket error"));
  }

  get state(): State {
    return this.#state;
  }

  /** Server shutdown: tell the client to come back, then close. */
  shutdown(): void {
    if (this.#state !== "closed") this.#fail("server_shutting_down");
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (bytes.byteLength > this.#limits.maxFrameBytes) {
      this.#fail(
        "frame_too_large",
        `Message of ${bytes.byteLength} bytes; the limit is ${this.#limits.maxFrameBytes}.`,
      );
      return;
    }
    if (isBinary) {
      this.#onAudio(pcmFromBytes(bytes), false);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString("utf8"));
    } catch {
      this.#error("bad_json", "Text frames must be JSON objects; send audio as binary frames or audio_chunk.");
      return;
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      this.#error("invalid_message", "A message must be a JSON object with a string `type`.");
      return;
    }
    const record = raw as Record<string, unknown>;
    if (!isClientMessageType(record.type)) {
      this.#error("unknown_message_type", `Unknown message type ${JSON.stringify(record.type)}.`);
      return;
    }
    const parsed = ClientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "message";
      this.#error("invalid_message", `${record.type}: ${where}: ${issue?.message ?? "invalid"}.`);
      return;
    }
    const unknown = unknownFields(record);
    if (unknown.length > 0) this.#warn("unknown_field", `Ignored unknown field(s): ${unknown.join(", ")}.`);
    const message = parsed.data;
    switch (message.type) {
      case "config":
        void this.#onConfig(message.config);
        return;
      case "audio_chunk":
        this.#onAudio(pcmFromHex(message.audio), true);
        return;
      case "finalize":
        if (this.#state === "awaiting_config")
          this.#error("invalid_message", "finalize before config: send a config message first.");
        else this.#stream?.flush();
        return;
      case "close_stream":
        this.#closeRequested = true;
        if (this.#state === "awaiting_config") this.#close(CloseCode.normal, "stream closed");
        else if (this.#state === "streaming") void this.#finish();
        return;
      case "keepalive":
        return;
    }
  }

  async #onConfig(config: StreamConfig): Promise<void> {
    if (this.#state !== "awaiting_config") {
      this.#error("config_already_set", "The stream is already configured; open a new connection to change it.");
      return;
    }
    if (!this.#engine.ready) {
      this.#fail("engine_unavailable", `The ${this.#engine.name} engine is not loaded.`);
      return;
    }
    const resolved = resolveConfig(config, this.#engine);
    if (!resolved.ok) {
      this.#error(resolved.code, resolved.message);
      return;
    }
    this.#config = resolved.config;
    this.#overlap = new OverlapRemover(resolved.config.overlapMs);
    this.#state = "opening";
    let stream: EngineStream;
    try {
      stream = await this.#engine.openStream(resolved.config.engine);
    } catch (error) {
      this.#log.warn({ err: error }, "engine stream failed to open");
      this.#fail("engine_unavailable", error instanceof Error ? error.message : undefined);
      return;
    }
    if (this.#state !== "opening") {
      stream.close();
      return;
    }
    this.#stream = stream;
    this.#state = "streaming";
    this.#send({
      type: "session_started",
      protocol_version: PROTOCOL_VERSION,
      session_id: this.id,
      config: {
        model: resolved.config.engine.model,
        language: resolved.config.engine.language,
        encoding: resolved.config.encoding,
        sample_rate: resolved.config.sampleRate,
        chunk_overlap_ms: resolved.config.overlapMs ?? "auto",
      },
    });
    this.#pumpDone = this.#pump(stream);
    for (const pcm of this.#pending) stream.push(pcm);
    this.#pending = [];
    if (this.#closeRequested) void this.#finish();
  }

  #onAudio(decoded: ReturnType<typeof pcmFromBytes>, isHex: boolean): void {
    if (this.#state === "awaiting_config") {
      this.#error("audio_before_config", "Send a config message before audio.");
      return;
    }
    if (!decoded.ok) {
      this.#error("invalid_audio", decoded.message);
      return;
    }
    if (decoded.pcm.length === 0) {
      this.#warn("empty_audio", WARNINGS.empty_audio);
      return;
    }
    const declared = this.#config?.overlapMs !== undefined;
    const pcm = isHex || declared ? (this.#overlap?.strip(decoded.pcm) ?? decoded.pcm) : decoded.pcm;
    this.#samplesIn += pcm.length;
    if (samplesToMs(this.#samplesIn) > this.#limits.maxSessionMs) {
      this.#fail("session_too_long", `The stream passed ${this.#limits.maxSessionMs} ms of audio.`);
      return;
    }
    if (this.#stream) {
      this.#stream.push(pcm);
      return;
    }
    this.#pending.push(pcm.slice());
    this.#pendingSamples += pcm.length;
    if (samplesToMs(this.#pendingSamples) > this.#limits.maxPendingMs) {
      this.#fail("engine_unavailable", "The engine did not start this stream in time.");
    }
  }

  async #pump(stream: EngineStream): Promise<void> {
    try {
      for await (const event of stream) this.#onEngineEvent(event);
    } catch (error) {
      this.#onEngineEvent({ type: "error", error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  #onEngineEvent(event: EngineEvent): void {
    switch (event.type) {
      case "partial":
        if (!this.#config?.interimResults || event.text === "" || event.text === this.#lastPartial) return;
        this.#lastPartial = event.text;
        this.#segmentHasOutput = true;
        this.#sendTranscript(event, false);
        return;
      case "final":
        if (event.text !== "" || this.#segmentHasOutput) {
          this.#sendTranscript(event, true);
          this.#segmentId += 1;
        }
        this.#segmentHasOutput = false;
        this.#lastPartial = "";
        return;
      case "endpoint":
      case "usage":
        return;
      case "error":
        this.#log.error({ err: event.error }, "engine stream failed");
        this.#fail("engine_unavailable", event.error.message);
        return;
    }
  }

  #sendTranscript(event: TranscriptEvent, isFinal: boolean): void {
    const config = this.#config;
    if (!config) return;
    this.#send({
      type: "transcript",
      is_final: isFinal,
      text: event.text,
      segment_id: this.#segmentId,
      start_ms: event.startMs,
      end_ms: event.endMs,
      language: config.engine.language,
      ...(config.engine.wordTimestamps
        ? {
            words: event.words.map((w) => ({
              word: w.word,
              start_ms: w.startMs,
              end_ms: w.endMs,
              confidence: Math.round(w.confidence * 1000) / 1000,
            })),
          }
        : {}),
    });
  }

  /** close_stream: flush, send the last finals, say so, close 1000. */
  async #finish(): Promise<void> {
    const stream = this.#stream;
    if (!stream || this.#state !== "streaming") return;
    this.#state = "closing";
    try {
      await stream.end();
    } catch (error) {
      this.#log.warn({ err: error }, "engine stream failed to end");
    }
    // end() ends the event iteration, so the pump finishes once it has relayed the last final.
    await this.#pumpDone;
    this.#send({ type: "stream_closed", audio_ms: samplesToMs(this.#samplesIn) });
    this.#close(CloseCode.normal, "stream closed");
  }

  #send(message: ServerMessage): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify(message));
  }

  #warn(code: WarningCode, message: string): void {
    this.#send({ type: "warning", code, message });
  }

  /** An error the connection survives (or, for codes with a close code, does not: see #fail). */
  #error(code: ErrorCode, message: string = ERRORS[code].summary): void {
    const spec = ERRORS[code];
    this.#send({ type: "error", code, message, retryable: spec.retryable });
    if ("close" in spec) this.#close(spec.close, code);
  }

  #fail(code: ErrorCode, message?: string): void {
    if (this.#state === "closed") return;
    this.#error(code, message);
    if (!("close" in ERRORS[code])) this.#close(CloseCode.policyViolation, code);
  }

  #close(code: number, reason: string): void {
    if (this.#state === "closed") return;
    this.#dispose();
    this.#ws.close(code, reason);
  }

  #dispose(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#wallClockTimer);
    this.#pending = [];
    this.#stream?.close();
  }
}
