/**
 * The AssemblyAI surface's metrics, in the server's registry: streams by how they ended (`ok`: with
 * `Termination`; `dropped`: the client went without `Terminate`; or the error code they were closed
 * with), the audio they carried, and `GET /v3/token` by result. Every label value is exported from 0.
 */
import { Counter, type Registry } from "prom-client";
import { labelledCounter } from "../../metric-kinds.js";
import { AAI_ERRORS, type AaiErrorCode } from "./aai-errors.js";

export type AaiStreamResult = "ok" | "dropped" | AaiErrorCode;
export const AAI_TOKEN_RESULTS = [
  "ok",
  "unauthorized",
  "invalid_parameter",
  "too_many_tokens",
  "method_not_allowed",
] as const;
export type AaiTokenResult = (typeof AAI_TOKEN_RESULTS)[number];

export class AaiMetrics {
  readonly #streams: Counter<"result">;
  readonly #audioSeconds: Counter;
  readonly #tokens: Counter<"result">;

  constructor(registry: Registry) {
    this.#streams = labelledCounter(
      registry,
      "earshot_assemblyai_streams_total",
      "AssemblyAI /v3/ws streams, by how they ended: ok, dropped, or the error code (docs/compatibility.md).",
      "result",
      ["ok", "dropped", ...Object.keys(AAI_ERRORS)],
    );
    this.#audioSeconds = new Counter({
      name: "earshot_assemblyai_audio_seconds_total",
      help: "Audio received on AssemblyAI /v3/ws streams.",
      registers: [registry],
    });
    this.#tokens = labelledCounter(
      registry,
      "earshot_assemblyai_tokens_total",
      "AssemblyAI GET /v3/token requests, by result.",
      "result",
      AAI_TOKEN_RESULTS,
    );
  }

  ended(result: AaiStreamResult, audioMs: number): void {
    this.#streams.inc({ result });
    if (audioMs > 0) this.#audioSeconds.inc(audioMs / 1000);
  }

  token(result: AaiTokenResult): void {
    this.#tokens.inc({ result });
  }
}
