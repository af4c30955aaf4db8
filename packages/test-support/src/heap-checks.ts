import { existsSync } from "node:fs";

/** glibc's malloc debug library (Debian, x86_64); elsewhere only `perturb` applies. */
export const MALLOC_DEBUG_LIBRARY = "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0";

/**
 * The environment for a child process run under glibc's heap checks: freed memory is overwritten
 * (`perturb`), and where the malloc debug library is installed every free is checked too.
 */
export function heapCheckEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GLIBC_TUNABLES: "glibc.malloc.perturb=165" };
  if (existsSync(MALLOC_DEBUG_LIBRARY)) {
    env.LD_PRELOAD = [MALLOC_DEBUG_LIBRARY, process.env.LD_PRELOAD].filter(Boolean).join(":");
    env.MALLOC_CHECK_ = "3";
  }
  return env;
}
