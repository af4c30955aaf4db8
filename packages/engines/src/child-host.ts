/**
 * A `RemoteHost` whose far side is a child process (`child_process.fork` of an engine's host
 * entry): a crash in native code there (SIGABRT, SIGSEGV) ends that process and fails its streams,
 * and the server lives on. This is the plumbing every such engine shares: the fork (no stdin, IPC
 * with structured clone so typed arrays travel without JSON), the tail of its stderr in the error,
 * the stop with a grace period, and, on the child's side, exiting when the parent is gone.
 */

import { type ChildProcess, fork } from "node:child_process";
import { describeExit, OutputTail } from "./child-output.js";
import { EngineUnavailableError } from "./contract.js";
import { awaitStart, type StartFailure } from "./host-start.js";
import { RemoteHost, type RemoteHostNames, type StreamRequest } from "./remote-host.js";
import type { RemoteStream } from "./remote-stream.js";

/** After `shutdown`, how long a child may take to exit before it is killed. */
const STOP_GRACE_MS = 2_000;

/** Asks a child to exit; every host entry understands it. */
export type HostShutdown = { readonly type: "shutdown" };

/** A forked host entry, not started yet. */
export interface ForkedHost {
  readonly child: ChildProcess;
  readonly stderr: OutputTail;
}

export interface StartChildOptions<T> {
  readonly names: RemoteHostNames;
  /** The child's first message (its configuration), if it needs one. */
  readonly init?: unknown;
  /** Fail after this long without `ready`; default never. */
  readonly timeoutMs?: number;
  /** What the child did, in the error after the host's name; default `startFailure`. */
  readonly describeFailure?: (failure: StartFailure) => string;
  /** Builds the handle once the child answered `ready`. */
  readonly ready: (forked: ForkedHost) => T;
}

/** Forks `entry` and resolves once it answers `ready`; on any failure the child is killed. */
export function startChildHost<T>(entry: URL, options: StartChildOptions<T>): Promise<T> {
  const child = fork(entry, [], {
    // No stdin (the server's is not the decoder's); stdout unused; stderr kept for the error detail.
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    serialization: "advanced",
    execArgv: [],
  });
  const stderr = new OutputTail(child.stderr);
  const starting = awaitStart(child, {
    ready: () => options.ready({ child, stderr }),
    failed: (failure) => {
      child.kill("SIGKILL");
      const detail = stderr.text;
      const why = (options.describeFailure ?? startFailure)(failure);
      return new EngineUnavailableError(`${options.names.host} ${why}${detail ? `: ${detail}` : ""}`);
    },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  if (options.init !== undefined) child.send(options.init as object);
  return starting;
}

/** In a host entry: exit when the parent is gone (crashed or killed), as there is nothing to decode for. */
export function exitWithParent(): void {
  process.on("disconnect", () => process.exit(0));
}

export abstract class ChildHost<S extends RemoteStream, Out> extends RemoteHost<S, Out> {
  readonly #child: ChildProcess;
  readonly #stderr: OutputTail;
  readonly #exited: Promise<void>;
  readonly #hostName: string;

  protected constructor(names: RemoteHostNames, forked: ForkedHost, onCrash: () => void) {
    const { child, stderr } = forked;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    super(names, exited, onCrash);
    this.#child = child;
    this.#stderr = stderr;
    this.#exited = exited;
    this.#hostName = names.host;
    child.on("message", (message) => this.dispatch(message));
    // "close" comes after stderr is read to its end, so the crash carries the native library's last words.
    child.on("close", (code, signal) => this.#crashed(describeExit(code, signal)));
    child.on("error", (error) => this.#crashed(error.message));
  }

  /** The child's process id (failure tests, operations). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Kill it now, as a crash would (tests of failure isolation). */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.#child.kill(signal);
  }

  /** A message of the child: the subclass's own kinds, or `route` for the shared ones. */
  protected abstract dispatch(message: unknown): void;

  protected override send(message: Out | StreamRequest): void {
    if (this.#child.connected) this.#child.send(message as object);
  }

  /** Asks it to exit; kills it if it has not within `STOP_GRACE_MS`. */
  protected override async shutdown(): Promise<void> {
    if (this.#child.connected) this.#child.send({ type: "shutdown" } satisfies HostShutdown);
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), STOP_GRACE_MS);
    await this.#exited;
    clearTimeout(timer);
  }

  #crashed(how: string): void {
    const detail = this.#stderr.text;
    this.crash(
      new EngineUnavailableError(`${this.#hostName} crashed (${how})${detail ? `: ${detail.slice(-500)}` : ""}`),
    );
  }
}

/** What a child that did not start did: "died while starting (signal SIGABRT)". */
export function startFailure(failure: StartFailure): string {
  switch (failure.kind) {
    case "failed":
      return `failed to start: ${failure.message}`;
    case "error":
      return `failed to start: ${failure.error.message}`;
    case "exit":
      return `died while starting (${describeExit(failure.code, failure.signal)})`;
    case "timeout":
      return `did not start within ${failure.timeoutMs} ms`;
  }
}
