/**
 * A trial load of one model in a child process, with a timeout (research notes C.3, step 5): the
 * preflight cannot prove that bytes it could parse are a graph onnxruntime will run. A signal, a
 * non-zero exit or the timeout make the model invalid, with the child's stderr as the detail.
 */

import { fork } from "node:child_process";
import { describeExit, OutputTail } from "@earshot/engines";
import { ModelInvalidError } from "./errors.js";
import type { ModelSpec } from "./models/model-spec.js";
import { type RecognizerSettings, recognizerConfig } from "./recognizer-config.js";

const CANARY_URL = new URL("./canary-child.js", import.meta.url);
export const DEFAULT_CANARY_TIMEOUT_MS = 60_000;

export interface CanaryOptions {
  readonly settings: RecognizerSettings;
  readonly timeoutMs?: number;
}

export function canaryLoad(dir: string, spec: ModelSpec, options: CanaryOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CANARY_TIMEOUT_MS;
  const config = JSON.stringify(recognizerConfig(dir, spec, options.settings));
  return new Promise((resolve, reject) => {
    const child = fork(CANARY_URL, [config], { stdio: ["ignore", "ignore", "pipe", "ipc"], execArgv: [] });
    const stderr = new OutputTail(child.stderr);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new ModelInvalidError(`model ${spec.name}: the trial load could not start: ${error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const how = timedOut ? `did not finish within ${timeoutMs} ms` : `crashed (${describeExit(code, signal)})`;
      const detail = stderr.text;
      reject(
        new ModelInvalidError(
          `model ${spec.name} in ${dir} failed its trial load: ${how}${detail ? `: ${detail}` : ""}`,
          {
            detail,
          },
        ),
      );
    });
  });
}
