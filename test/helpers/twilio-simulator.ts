/**
 * A Twilio simulator: a WebSocket client that speaks to a media stream endpoint as Twilio does
 * (https://www.twilio.com/docs/voice/media-streams/websocket-messages): the upgrade signed with
 * `X-Twilio-Signature` (or not), `connected`, `start` with `tracks`, `mediaFormat` and
 * `customParameters`, then `media` frames of base64 μ-law 8 kHz, 20 ms each, paced in real time
 * and interleaved by track (each track's frames carry their own `chunk` counter and the stream's
 * `timestamp`, ms from the start of the stream), and `stop`. A call can also be cut mid-stream (no
 * `stop`, no close frame), as when Twilio's leg drops. Audio comes as μ-law bytes as a phone
 * network made them (the eval set's 8 kHz μ-law copies, `mulawSpeech`), or as 16 kHz PCM encoded
 * with the repo's own μ-law encoder (`createWireEncoder`).
 */
import { once } from "node:events";
import { createWireEncoder } from "@earshot/client";
import { twilioSignature } from "@earshot/server";
import WebSocket from "ws";

export const FRAME_MS = 20;
const FRAME_BYTES = 160;

export interface SimulatedTrack {
  readonly track: "inbound" | "outbound";
  /** 16 kHz PCM16 mono (encoded here), or 8 kHz μ-law bytes sent as they are. */
  readonly pcm: Int16Array | Uint8Array;
  /** Stream time of the track's first frame (Twilio's `media.timestamp`). */
  readonly startMs?: number;
}

export interface SimulatorOptions {
  /** `http://host:port` of the server. */
  readonly baseUrl: string;
  readonly path?: string;
  /** Sign the upgrade with this auth token (as Twilio does); `signatureOverride` sends that instead. */
  readonly authToken?: string;
  readonly signatureOverride?: string;
  /** The Host Twilio connected to (and signed); default the server's own. */
  readonly host?: string;
  readonly callSid?: string;
  readonly streamSid?: string;
  readonly customParameters?: Record<string, string>;
  /** `start.tracks`; default the tracks given to `play`. */
  readonly tracks?: readonly string[];
}

let sids = 0;
const sid = (prefix: string) => `${prefix}${(++sids).toString(16).padStart(32, "0")}`;

/** Base64 μ-law frames of 20 ms (the last may be shorter) of `audio`: PCM is encoded, μ-law bytes kept. */
export function mulawFrames(audio: Int16Array | Uint8Array): string[] {
  let bytes: Buffer;
  if (audio instanceof Uint8Array) {
    bytes = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength);
  } else {
    const encoder = createWireEncoder("mulaw");
    bytes = Buffer.concat([...encoder.encode(audio), ...encoder.flush()].map((b) => Buffer.from(b)));
    encoder.close();
  }
  const frames: string[] = [];
  for (let at = 0; at < bytes.length; at += FRAME_BYTES) {
    frames.push(bytes.subarray(at, at + FRAME_BYTES).toString("base64"));
  }
  return frames;
}

export class TwilioSimulator {
  readonly ws: WebSocket;
  readonly callSid: string;
  readonly streamSid: string;
  /** Messages the server sent (there must be none). */
  readonly received: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #sequence = 0;
  #cut = false;

  private constructor(ws: WebSocket, callSid: string, streamSid: string) {
    this.ws = ws;
    this.callSid = callSid;
    this.streamSid = streamSid;
    ws.on("message", (data) => this.received.push(String(data)));
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** Connects (upgrade only); resolves once open, rejects with the HTTP status when refused. */
  static async connect(options: SimulatorOptions): Promise<TwilioSimulator> {
    const path = options.path ?? "/v1/twilio/media-stream";
    const serverHost = new URL(options.baseUrl).host;
    const host = options.host ?? serverHost;
    const headers: Record<string, string> = { Host: host };
    if (options.signatureOverride !== undefined) headers["X-Twilio-Signature"] = options.signatureOverride;
    else if (options.authToken !== undefined) {
      headers["X-Twilio-Signature"] = twilioSignature(options.authToken, `wss://${host}${path}`);
    }
    const ws = new WebSocket(`ws://${serverHost}${path}`, { headers });
    const simulator = new TwilioSimulator(ws, options.callSid ?? sid("CA"), options.streamSid ?? sid("MZ"));
    const refused = new Promise<never>((_, reject) => {
      ws.once("unexpected-response", (request, response) => {
        request.destroy();
        reject(new UpgradeRefused(response.statusCode ?? 0));
      });
      ws.once("error", reject);
    });
    await Promise.race([once(ws, "open"), refused]);
    return simulator;
  }

  /** `connected` then `start`, as Twilio sends them first. */
  start(options: Pick<SimulatorOptions, "customParameters" | "tracks"> & { readonly accountSid?: string } = {}): void {
    this.sendJson({ event: "connected", protocol: "Call", version: "1.0.0" });
    this.sendJson({
      event: "start",
      sequenceNumber: String(this.#next()),
      start: {
        accountSid: options.accountSid ?? "AC00000000000000000000000000000001",
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: options.tracks ?? ["inbound", "outbound"],
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        customParameters: options.customParameters ?? {},
      },
      streamSid: this.streamSid,
    });
  }

  /** One `media` frame. */
  media(track: string, chunk: number, timestampMs: number, payload: string): void {
    this.sendJson({
      event: "media",
      sequenceNumber: String(this.#next()),
      media: { track, chunk: String(chunk), timestamp: String(timestampMs), payload },
      streamSid: this.streamSid,
    });
  }

  /**
   * Plays the tracks at 20 ms a frame in real time (`speed` times faster), interleaved; stops
   * early (without sending anything more) once `cutAtMs` of stream time has been sent.
   */
  async play(tracks: readonly SimulatedTrack[], options: { speed?: number; cutAtMs?: number } = {}): Promise<void> {
    const speed = options.speed ?? 1;
    const queues = tracks.map((t) => ({
      track: t.track,
      startMs: t.startMs ?? 0,
      frames: mulawFrames(t.pcm),
      chunk: 0,
    }));
    const endMs = Math.max(...queues.map((q) => q.startMs + q.frames.length * FRAME_MS));
    const began = performance.now();
    for (let atMs = 0; atMs < endMs; atMs += FRAME_MS) {
      if (options.cutAtMs !== undefined && atMs >= options.cutAtMs) {
        this.cut();
        return;
      }
      for (const queue of queues) {
        const index = (atMs - queue.startMs) / FRAME_MS;
        const payload = index >= 0 ? queue.frames[index] : undefined;
        if (payload !== undefined) this.media(queue.track, ++queue.chunk, atMs, payload);
      }
      const due = began + (atMs + FRAME_MS) / speed;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.#cut || this.ws.readyState !== WebSocket.OPEN) return;
    }
  }

  stop(): void {
    this.sendJson({
      event: "stop",
      sequenceNumber: String(this.#next()),
      stop: { accountSid: "AC00000000000000000000000000000001", callSid: this.callSid },
      streamSid: this.streamSid,
    });
  }

  /** The next message gets `sequenceNumber` `next` (after hand-made messages that took numbers). */
  sequenceFrom(next: number): void {
    this.#sequence = next - 1;
  }

  /** Twilio's leg drops: the TCP connection goes, with no `stop` and no close frame. */
  cut(): void {
    this.#cut = true;
    this.ws.terminate();
  }

  sendJson(message: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN)
      this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  sendRaw(data: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  #next(): number {
    this.#sequence += 1;
    return this.#sequence;
  }
}

export class UpgradeRefused extends Error {
  readonly status: number;

  constructor(status: number) {
    super(`upgrade refused with HTTP ${status}`);
    this.status = status;
  }
}
