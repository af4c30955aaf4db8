/**
 * The Deepgram surface's metrics, in the server's registry: streams by result (`ok`,
 * `client_closed`, or the error code that refused or ended them, every one exported from 0) and the
 * audio they transcribed.
 */
import { Counter, type Registry } from "prom-client";
import { labelledCounter } from "../../metric-kinds.js";
import { DEEPGRAM_CLOSE_ERRORS, DEEPGRAM_UPGRADE_ERRORS, type DeepgramUpgradeErrorCode } from "./listen-errors.js";
import type { ListenResult } from "./listen-stream.js";

export class DeepgramMetrics {
  readonly #streams: Counter<"result">;
  readonly #audioSeconds: Counter;

  constructor(registry: Registry) {
    this.#streams = labelledCounter(
      registry,
      "earshot_deepgram_streams_total",
      "Deepgram /v1/listen streams, by result: ok, client_closed, or the error code (docs/compatibility.md).",
      "result",
      ["ok", "client_closed", ...Object.keys(DEEPGRAM_UPGRADE_ERRORS), ...Object.keys(DEEPGRAM_CLOSE_ERRORS)],
    );
    this.#audioSeconds = new Counter({
      name: "earshot_deepgram_audio_seconds_total",
      help: "Audio transcribed through Deepgram /v1/listen (the longest channel of each stream).",
      registers: [registry],
    });
  }

  ended(result: ListenResult, audioMs: number): void {
    this.#streams.inc({ result });
    this.#audioSeconds.inc(audioMs / 1000);
  }

  refused(code: DeepgramUpgradeErrorCode): void {
    this.#streams.inc({ result: code });
  }
}
