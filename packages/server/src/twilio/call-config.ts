/**
 * The stream config of a call's channels: μ-law at 8 kHz with word timestamps, plus what the
 * stream's `<Parameter>`s ask for, as strings (Twilio sends nothing else): `language`, `model`,
 * `numerals` (`true` / `false`), `redact` (comma-separated: `pci,ssn`), `endpointing_ms`. Checked
 * at `start` with the schema and the engine, as a client's `config` is, so a stream with a config
 * the server cannot honour is refused before any audio is decoded rather than transcribed without it.
 */
import type { Engine } from "@earshot/engines";
import { type StreamConfig, StreamConfigSchema } from "@earshot/protocol";
import { resolveConfig } from "../stream-config.js";

export type CallConfig =
  | { readonly ok: true; readonly config: StreamConfig }
  | { readonly ok: false; readonly why: string };

export function callConfig(parameters: Readonly<Record<string, string>>, engine: Engine): CallConfig {
  const raw: Record<string, unknown> = { encoding: "mulaw", sample_rate: 8000, timestamp_granularity: "word" };
  const { language, model, numerals, redact, endpointing_ms: endpointingMs } = parameters;
  if (language !== undefined) raw.language = language;
  if (model !== undefined) raw.model = model;
  if (numerals !== undefined) raw.numerals = numerals === "true" ? true : numerals === "false" ? false : numerals;
  if (redact !== undefined)
    raw.redact = redact
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "");
  if (endpointingMs !== undefined)
    raw.endpointing_ms = /^\d{1,6}$/.test(endpointingMs) ? Number(endpointingMs) : endpointingMs;
  const parsed = StreamConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, why: `parameter ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "invalid"}` };
  }
  const resolved = resolveConfig(parsed.data, engine);
  if (!resolved.ok) return { ok: false, why: `${resolved.code}: ${resolved.message}` };
  return { ok: true, config: parsed.data };
}
