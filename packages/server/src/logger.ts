import { type Logger, pino } from "pino";

/** Structured logs; keys are never logged (auth headers are redacted if a request is logged). */
export function createLogger(level: string = process.env.EARSHOT_LOG_LEVEL ?? "info"): Logger {
  return pino({
    level,
    base: { service: "earshot" },
    redact: ["req.headers.authorization", "req.headers['sec-websocket-protocol']", "apiKey"],
  });
}

export const silentLogger = (): Logger => pino({ level: "silent" });
