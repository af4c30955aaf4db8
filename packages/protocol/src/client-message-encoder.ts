/**
 * Client messages as text frames: the one encoder the SDK sends them through, typed by the
 * schemas, so a message the server would refuse does not compile. Binary audio frames go on the
 * wire as they are. Types only, so browser code can import it (`@earshot/protocol/client-message-encoder`)
 * without the schemas and zod.
 */
import type { ClientMessage } from "./messages.js";

export function encodeClientMessage(message: ClientMessage): string {
  return JSON.stringify(message);
}
