/**
 * The server's live sessions, by resume token, each with the API key that started it: what a
 * resume finds, what the counts (metrics, admission) read, and the policy for sessions waiting for
 * a resume. A key's waiting sessions are bounded (`maxStreamsPerKey`: beyond, the oldest ends and
 * can no longer be resumed), and so are the decoders they keep (`maxWaitingDecodersPerKey`: beyond,
 * the oldest give theirs back and resume from their last final). When the server or a key needs
 * room, waiting sessions give their decoders back first, oldest first: they lose nothing by it.
 */
import type { Logger } from "pino";
import type { ClientSession } from "./client-session.js";
import type { ReleaseReason } from "./session.js";

/** What the registry reads of a session and asks of it (`id` only names it in logs). */
export type RegisteredSession = Pick<
  ClientSession,
  | "id"
  | "resumeToken"
  | "waiting"
  | "waitingSince"
  | "decodersHeld"
  | "finished"
  | "backlogMs"
  | "releaseDecoder"
  | "expire"
>;

export interface SessionRegistryOptions {
  /** The most sessions of one key waiting for a resume, and the most decoders its sessions hold. */
  readonly maxStreamsPerKey: number;
  /** The most waiting sessions of one key that keep their decoders. */
  readonly maxWaitingDecodersPerKey: number;
  readonly log: Logger;
}

export class SessionRegistry<S extends RegisteredSession = ClientSession> {
  /** Live sessions by resume token (connected, waiting for a resume, or finished and kept for a late one). */
  readonly #entries = new Map<string, { readonly session: S; readonly key: string }>();
  readonly #options: SessionRegistryOptions;

  constructor(options: SessionRegistryOptions) {
    this.#options = options;
  }

  /** The session hooks the registry needs: it forgets closed sessions and bounds waiting ones. */
  readonly hooks = {
    onClosed: (session: S): void => {
      this.#entries.delete(session.resumeToken);
    },
    onWaiting: (session: S): void => this.#boundWaiting(session),
  };

  add(session: S, key: string): void {
    this.#entries.set(session.resumeToken, { session, key });
  }

  /** Whether the session a resume token names is still held. */
  has(resumeToken: string): boolean {
    return this.#entries.has(resumeToken);
  }

  /** The session `resumeToken` names, if it was started with `key`: a token only resumes its own key's session. */
  find(key: string, resumeToken: string | null): S | undefined {
    const entry = resumeToken === null ? undefined : this.#entries.get(resumeToken);
    return entry?.key === key ? entry.session : undefined;
  }

  /** The API key that started the session `resumeToken` names. */
  keyOf(resumeToken: string): string | undefined {
    return this.#entries.get(resumeToken)?.key;
  }

  /** Every session held. */
  all(): S[] {
    return [...this.#entries.values()].map((entry) => entry.session);
  }

  /** Sessions that still stream (connected or waiting), not finished ones kept for a late resume. */
  readonly liveSessions = (): number => this.#count((session) => !session.finished);
  readonly waitingSessions = (): number => this.#count((session) => session.waiting);
  /** Decoders that waiting sessions still hold. */
  readonly waitingDecoders = (): number => this.#sum((session) => (session.waiting ? session.decodersHeld : 0));
  /**
   * Streams held (of every key, or of `key`): engine streams (decoders) of sessions, connected or
   * waiting; a two-channel session holds two. A connection without a session holds nothing, so
   * idle sockets cannot fill the server.
   */
  readonly heldStreams = (key?: string): number => this.#sum((session) => session.decodersHeld, key);

  /** How far the engine is behind on the session furthest behind, in ms of audio. */
  maxBacklogMs(): number {
    let maxBacklogMs = 0;
    for (const { session } of this.#entries.values()) maxBacklogMs = Math.max(maxBacklogMs, session.backlogMs);
    return maxBacklogMs;
  }

  /** Waiting sessions (of `key`, or of all) give their decoders back, oldest first, until `count` were. */
  releaseWaitingDecoders(key: string | undefined, count: number, reason: ReleaseReason): void {
    let released = 0;
    for (const session of this.#waitingOldestFirst(key)) {
      if (released >= count) return;
      const held = session.decodersHeld;
      if (session.releaseDecoder(reason)) released += Math.max(1, held - session.decodersHeld);
    }
  }

  /** Sessions (of every key, or of `key`) that match. */
  #count(match: (session: S) => boolean, key?: string): number {
    return this.#sum((session) => (match(session) ? 1 : 0), key);
  }

  /** What `value` gives for each session (of every key, or of `key`), summed. */
  #sum(value: (session: S) => number, key?: string): number {
    let sum = 0;
    for (const entry of this.#entries.values()) if (key === undefined || entry.key === key) sum += value(entry.session);
    return sum;
  }

  /** The oldest waiting sessions first (by when their connection dropped), of one key or of all. */
  #waitingOldestFirst(key: string | undefined): S[] {
    return [...this.#entries.values()]
      .filter((entry) => entry.session.waiting && (key === undefined || entry.key === key))
      .map((entry) => entry.session)
      .sort((a, b) => a.waitingSince - b.waitingSince);
  }

  /** A session of `key` started waiting: end the oldest beyond the key's bound, then release decoders beyond its own. */
  #boundWaiting(session: S): void {
    const key = this.#entries.get(session.resumeToken)?.key;
    if (key === undefined) return;
    const { maxStreamsPerKey, maxWaitingDecodersPerKey, log } = this.#options;
    const waiting = this.#waitingOldestFirst(key);
    for (const old of waiting.slice(0, Math.max(0, waiting.length - maxStreamsPerKey))) {
      log.info({ session: old.id }, "too many sessions waiting for a resume; ending the oldest");
      old.expire();
    }
    const holding = waiting.reduce((sum, s) => sum + s.decodersHeld, 0);
    this.releaseWaitingDecoders(key, holding - maxWaitingDecodersPerKey, "key_budget");
  }
}
