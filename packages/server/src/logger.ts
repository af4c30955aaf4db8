import { type DestinationStream, type Logger, pino, destination as toFd } from "pino";

/**
 * Structured logs, as JSON lines on stderr (stdout is left to the CLI's machine-readable lines: the
 * generated key and the ready line). Keys are never logged (auth headers are redacted if a request
 * is logged).
 */
export function createLogger(
  level: string = process.env.EARSHOT_LOG_LEVEL ?? "info",
  destination: DestinationStream = toFd(2),
): Logger {
  return pino(
    {
      level,
      base: { service: "earshot" },
      redact: ["req.headers.authorization", "req.headers['sec-websocket-protocol']", "apiKey"],
    },
    destination,
  );
}

export const silentLogger = (): Logger => pino({ level: "silent" });
