/**
 * A stream session's lifecycle, as the client's (`client-types.ts`): the states, and the moves
 * each allows, enforced in one place (`StreamSession#transition`).
 *
 * The way through is idle → opening → streaming → draining → finished → closed. A dropped
 * connection moves opening or streaming to `waiting` (a resume moves it back), then `released`
 * when the session gives its decoder back (a resume reopens it: `opening`). A drop while draining
 * lets the drain end in `drained`, where a resume gets the last finals and `finished`. Every state
 * can end in `closed`.
 */
import { defineError } from "@earshot/protocol";

export type SessionState =
  /** Created, no config yet. */
  | "idle"
  /** Config accepted; the engine stream is opening (its audio is held). */
  | "opening"
  /** The engine stream decodes what the connection sends. */
  | "streaming"
  /** The connection dropped: the engine stream (or its opening) is kept for a resume, `holdDecoderMs` at most. */
  | "waiting"
  /** Waiting for a resume without an engine stream: only the finals are kept. */
  | "released"
  /** close_stream: the engine stream ends and its last finals go out (the connection may drop meanwhile). */
  | "draining"
  /** Drained after the connection dropped: stream_closed is owed to a resume. */
  | "drained"
  /** stream_closed was sent; the finals are kept for a client that missed it, until the grace ends. */
  | "finished"
  /** Over: the resume token no longer works. */
  | "closed";

/** The moves each state allows; anything else is a bug (`SessionStateError`). */
export const SESSION_TRANSITIONS: { readonly [S in SessionState]: readonly SessionState[] } = {
  idle: ["opening", "closed"],
  opening: ["streaming", "waiting", "draining", "closed"],
  streaming: ["waiting", "draining", "closed"],
  waiting: ["opening", "streaming", "released", "closed"],
  released: ["opening", "closed"],
  draining: ["drained", "finished", "closed"],
  drained: ["finished", "closed"],
  finished: ["closed"],
  closed: [],
};

/** A session asked to do what its state does not allow: a bug, which ends it with `internal_error`. */
export class SessionStateError extends defineError("SessionStateError", "invalid_state") {}

/** `to`, when the table allows the move from `from`; else throws. */
export function checkTransition(from: SessionState, to: SessionState): SessionState {
  if (!SESSION_TRANSITIONS[from].includes(to))
    throw new SessionStateError(`Illegal session transition ${from} → ${to}.`);
  return to;
}

/** The session's state, and the one way to change it (every move checked by `checkTransition`). */
export interface SessionLifecycle {
  state(): SessionState;
  transition(to: SessionState): void;
}

/** A config was accepted: audio may flow. */
export function isConfigured(state: SessionState): boolean {
  return state === "opening" || state === "streaming";
}

/**
 * Alive without a connection, waiting for a resume. A session that drains after close_stream goes
 * on draining when its connection drops, and waits meanwhile too.
 */
export function isWaiting(state: SessionState, connected: boolean): boolean {
  return state === "waiting" || state === "released" || state === "drained" || (state === "draining" && !connected);
}

/** Holds an engine stream, or is opening one: what counts against the server's and the key's streams. */
export function holdsDecoder(state: SessionState): boolean {
  return state === "opening" || state === "streaming" || state === "waiting" || state === "draining";
}

/** Acks the audio: draining too, as the client's heartbeat while the engine drains. */
export function acksAudio(state: SessionState): boolean {
  return state === "opening" || state === "streaming" || state === "draining";
}

/** Why a waiting session gave its decoder back: its hold time ran out, or the server needed the room. */
export type ReleaseReason = "hold_expired" | "key_budget" | "node_budget";
