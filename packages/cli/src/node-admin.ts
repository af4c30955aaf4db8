/**
 * What deploy tooling asks of one earshot node over HTTP: its readiness (`/readyz`), and its drain
 * (`POST`/`GET /v1/admin/drain`, with the admin key).
 */
import { ADMIN_DRAIN_PATH } from "@earshot/server";
import { CliError } from "./cli-error.js";

/** `/readyz` as a rollout reads it: 200 ready, 503 with its status (`draining`, `loading` …), or gone. */
export type Readiness = { readonly up: true; readonly status: number; readonly state: string } | { readonly up: false };

export async function readiness(url: string): Promise<Readiness> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) });
    const body = (await response.json().catch(() => ({}))) as { status?: unknown };
    return { up: true, status: response.status, state: typeof body.status === "string" ? body.status : "unknown" };
  } catch {
    return { up: false };
  }
}

/** Starts the node's drain; resolves with its answer (`state`, `sessions`), or throws a CliError. */
export async function startDrain(url: string, adminKey: string): Promise<{ state: string; sessions: number }> {
  let response: Response;
  try {
    response = await fetch(`${url}${ADMIN_DRAIN_PATH}`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}` },
      signal: AbortSignal.timeout(5000),
    });
  } catch (error) {
    throw new CliError(`cannot reach ${url}: ${(error as Error).message}`, { exitCode: 1 });
  }
  const body = (await response.json().catch(() => ({}))) as { state?: string; sessions?: number; message?: string };
  if (response.status !== 202) {
    throw new CliError(`${url} refused the drain (${response.status}): ${body.message ?? ""}`, { exitCode: 1 });
  }
  return { state: body.state ?? "draining", sessions: body.sessions ?? 0 };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
