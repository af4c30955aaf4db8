/**
 * What the client makes of a connection's stream messages. A resumed session re-sends the finals
 * the client has delivered, and a partial of a segment already final can arrive late: both are
 * dropped, so each final reaches the application once, in order, across reconnects. Finals and
 * acks move the stream's progress (replay audio no server will ask for again can go) and count as
 * progress towards close(); `stream_closed` records the audio the server consumed.
 */
import type { TranscriptAggregator } from "./aggregator.js";
import type { ClientEvents } from "./client-types.js";
import type { CloseDeadline } from "./close-deadline.js";
import type { StreamMessage } from "./connection.js";
import { StreamProgress } from "./stream-progress.js";

export type Emit = <K extends keyof ClientEvents>(event: K, payload: ClientEvents[K]) => void;

export interface StreamReceiverOptions {
  /** Each channel's transcript (one for a one-channel stream). */
  readonly transcripts: readonly TranscriptAggregator[];
  readonly closeDeadline: CloseDeadline;
  readonly emit: Emit;
  /** A final or an ack moved `progress`: audio before `progress.neededFromSample` may be released. */
  readonly progressed: () => void;
}

export class StreamReceiver {
  readonly progress: StreamProgress;
  readonly #options: StreamReceiverOptions;
  #streamClosed = false;
  #audioMs: number | undefined;

  constructor(options: StreamReceiverOptions) {
    this.#options = options;
    this.progress = new StreamProgress(options.transcripts.length);
  }

  /** The server sent `stream_closed`: every final of the stream has arrived. */
  get streamClosed(): boolean {
    return this.#streamClosed;
  }

  /** Audio the server consumed, from `stream_closed`. */
  get audioMs(): number | undefined {
    return this.#audioMs;
  }

  receive(message: StreamMessage): void {
    const { emit, closeDeadline, progressed } = this.#options;
    switch (message.type) {
      case "transcript":
        if (!this.progress.accept(message)) return;
        if (message.is_final) {
          progressed();
          closeDeadline.final();
        }
        this.#options.transcripts[message.channel ?? 0]?.add(message);
        emit(message.is_final ? "final" : "partial", message);
        return;
      case "ack":
        closeDeadline.acked(message.received_samples);
        this.progress.acked(message.received_samples);
        progressed();
        return;
      case "warning":
        emit("warning", { code: message.code, message: message.message });
        return;
      case "utterance_end":
        emit("utterance_end", message);
        return;
      case "checkpoint":
        this.progress.checkpointed(message);
        progressed();
        return;
      case "stream_closed":
        this.#audioMs = message.audio_ms;
        this.#streamClosed = true;
        return;
    }
  }
}
