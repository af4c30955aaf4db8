/**
 * The OpenAI surface's metrics, in the server's registry: requests by result (`ok` or the error
 * code, every one exported from 0) and the audio they transcribed.
 */
import { Counter, type Registry } from "prom-client";
import { labelledCounter } from "../../metric-kinds.js";
import { OPENAI_ERRORS, type OpenAiErrorCode } from "./openai-errors.js";

export class OpenAiMetrics {
  readonly #requests: Counter<"result">;
  readonly #audioSeconds: Counter;

  constructor(registry: Registry) {
    this.#requests = labelledCounter(
      registry,
      "earshot_openai_transcriptions_total",
      "OpenAI POST /v1/audio/transcriptions requests, by result: ok, or the error code (docs/compatibility.md).",
      "result",
      ["ok", ...Object.keys(OPENAI_ERRORS)],
    );
    this.#audioSeconds = new Counter({
      name: "earshot_openai_audio_seconds_total",
      help: "Audio transcribed through OpenAI POST /v1/audio/transcriptions.",
      registers: [registry],
    });
  }

  transcribed(audioMs: number): void {
    this.#requests.inc({ result: "ok" });
    this.#audioSeconds.inc(audioMs / 1000);
  }

  refused(code: OpenAiErrorCode): void {
    this.#requests.inc({ result: code });
  }
}
