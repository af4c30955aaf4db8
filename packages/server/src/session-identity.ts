/**
 * A session's names: its id (in logs and `session_started`) and its resume token (the secret a
 * resume presents). A new session gets new ones; a session continued from another node of a
 * cluster keeps its own (`cluster/session-takeover.ts`), so the client sees one session throughout.
 */
import { randomBytes, randomUUID } from "node:crypto";

export interface SessionIdentity {
  readonly id: string;
  readonly resumeToken: string;
}

export const newSessionIdentity = (): SessionIdentity => ({
  id: randomUUID(),
  resumeToken: `rt_${randomBytes(24).toString("base64url")}`,
});
