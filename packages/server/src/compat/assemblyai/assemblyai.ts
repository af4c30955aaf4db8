/**
 * The AssemblyAI surface, as `createServer` wires it: its metrics, the `/v3/ws` upgrade route and
 * the `GET /v3/token` handler, sharing the temporary tokens' session limits.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AaiMetrics } from "./aai-metrics.js";
import { AaiSessionLimits } from "./aai-session-limits.js";
import { handleAaiToken } from "./aai-token-route.js";
import { type AaiUpgradeContext, AaiUpgrades } from "./aai-upgrade.js";

export type AssemblyAiParts = Omit<AaiUpgradeContext, "aaiMetrics" | "sessionLimits">;

export class AssemblyAi {
  readonly route: AaiUpgrades;
  readonly #parts: AssemblyAiParts;
  readonly #metrics: AaiMetrics;
  readonly #sessionLimits = new AaiSessionLimits();

  constructor(parts: AssemblyAiParts) {
    this.#parts = parts;
    this.#metrics = new AaiMetrics(parts.metrics.registry);
    this.route = new AaiUpgrades({ ...parts, aaiMetrics: this.#metrics, sessionLimits: this.#sessionLimits });
  }

  /** `GET /v3/token`. */
  handleToken(request: IncomingMessage, response: ServerResponse, query: URLSearchParams): void {
    const { keys, tokens } = this.#parts;
    handleAaiToken(request, response, query, {
      keys,
      tokens,
      aaiMetrics: this.#metrics,
      sessionLimits: this.#sessionLimits,
    });
  }
}
