/**
 * Waiting for a far side (a worker thread, a child process) to start: it answers `ready` once it
 * can decode, or `failed` with the reason; an `error` or an `exit` before that is a failure too.
 */

import type { EventEmitter } from "node:events";

/** The far side's first message. */
export type StartReply = { readonly type: "ready" } | { readonly type: "failed"; readonly message: string };

/** Why a far side did not start. */
export type StartFailure =
  | { readonly kind: "failed"; readonly message: string }
  | { readonly kind: "error"; readonly error: Error }
  | { readonly kind: "exit"; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly kind: "timeout"; readonly timeoutMs: number };

export interface StartHandlers<T> {
  /** Called on `ready`, before any other message of the far side: builds its handle. */
  readonly ready: () => T;
  /** Called once on a failure: cleans up what the far side left and returns the error to reject with. */
  readonly failed: (failure: StartFailure) => Error;
  /** Fail after this long without an answer; default never. */
  readonly timeoutMs?: number;
}

/** Resolves with `ready()`'s handle, or rejects with `failed()`'s error; listens no more after either. */
export function awaitStart<T>(far: EventEmitter, handlers: StartHandlers<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const fail = (failure: StartFailure) => {
      cleanup();
      reject(handlers.failed(failure));
    };
    // Its first message is one of these; any other would be ignored.
    const onMessage = (message: StartReply) => {
      if (message.type === "ready") {
        cleanup();
        resolve(handlers.ready());
      } else if (message.type === "failed") {
        fail({ kind: "failed", message: message.message });
      }
    };
    const onError = (error: Error) => fail({ kind: "error", error });
    const onExit = (code: number | null, signal?: NodeJS.Signals | null) =>
      fail({ kind: "exit", code, signal: signal ?? null });
    const { timeoutMs } = handlers;
    const timer =
      timeoutMs === undefined ? undefined : setTimeout(() => fail({ kind: "timeout", timeoutMs }), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      far.off("message", onMessage);
      far.off("error", onError);
      far.off("exit", onExit);
    };
    far.on("message", onMessage);
    far.on("error", onError);
    far.on("exit", onExit);
  });
}
