/**
 * The admin routes, for operators and deploy tooling, not clients: `POST /v1/admin/drain` starts
 * the node's drain (node-drain.ts; the node exits once drained, and its supervisor starts it
 * again) and `GET /v1/admin/drain` says how it stands. They take the admin key only
 * (`Authorization: Bearer <admin key>`, `earshot serve --admin-key`), never an API key: a client
 * must not be able to take a node out. Without an admin key they do not exist (404).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KeyRing } from "./auth.js";
import { httpError, json } from "./http-replies.js";
import type { NodeDrain } from "./node-drain.js";

export const ADMIN_DRAIN_PATH = "/v1/admin/drain";

export interface AdminRouteContext {
  /** The admin key; undefined: no admin routes. */
  readonly adminKeys: KeyRing | undefined;
  readonly drain: NodeDrain;
  /** Sessions still on the node (connected, waiting for a resume, or finished and kept). */
  readonly sessionCount: () => number;
}

export function handleAdminDrain(request: IncomingMessage, response: ServerResponse, context: AdminRouteContext): void {
  request.resume(); // no body is read
  const { adminKeys, drain } = context;
  if (adminKeys === undefined) {
    httpError(response, 404, "not_found", `No route ${ADMIN_DRAIN_PATH}: start the server with an admin key.`);
    return;
  }
  const key = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
  if (!adminKeys.accepts(key)) {
    httpError(response, 401, "unauthorized", `${ADMIN_DRAIN_PATH} needs Authorization: Bearer <admin key>.`, {
      "www-authenticate": 'Bearer realm="earshot admin"',
    });
    return;
  }
  if (request.method === "POST") {
    void drain.start("admin");
    json(response, 202, status(context));
  } else if (request.method === "GET") {
    json(response, 200, status(context));
  } else {
    httpError(response, 405, "invalid_message", "Use POST to drain the node, GET to see its drain.", {
      allow: "GET, POST",
    });
  }
}

function status({ drain, sessionCount }: AdminRouteContext): Record<string, unknown> {
  return { state: drain.state, sessions: sessionCount(), drain_timeout_ms: drain.timeoutMs };
}
