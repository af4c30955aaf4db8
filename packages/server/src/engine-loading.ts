/**
 * Loading the engine, which `listen()` starts: `ready` settles when it is done, and `error` says
 * why it failed (for `/readyz`).
 */
import type { Engine } from "@earshot/engines";
import type { Logger } from "pino";

export class EngineLoading {
  /** Resolves when the engine is loaded; rejects with the engine's error. */
  readonly ready: Promise<void>;
  #error: Error | undefined;
  #start: () => void = () => {};

  constructor(engine: Engine, log: Logger, onLoaded: () => void) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.#start = () => {
        engine.load().then(
          () => {
            onLoaded();
            resolve();
          },
          (error: unknown) => {
            this.#error = error instanceof Error ? error : new Error(String(error));
            log.error({ err: this.#error }, "engine failed to load");
            reject(this.#error);
          },
        );
      };
    });
    this.ready.catch(() => {}); // surfaced through /readyz, session errors and the CLI
  }

  start(): void {
    this.#start();
  }

  /** Why the engine failed to load; undefined while loading or once loaded. */
  get error(): Error | undefined {
    return this.#error;
  }
}
