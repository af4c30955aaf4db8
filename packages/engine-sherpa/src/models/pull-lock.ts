/**
 * One pull per model at a time: `<models dir>/.<name>.lock` holds the pulling process's pid. A
 * second pull of the same model stops with `pull_in_progress` instead of writing into the same
 * `.partial` file; a lock left by a process that no longer runs is taken over.
 */
import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ModelStoreError } from "./model-store-error.js";

export async function lockPull(modelsDir: string, name: string): Promise<() => Promise<void>> {
  const path = join(modelsDir, `.${name}.lock`);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw error;
    }
    const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && isRunning(pid)) {
      throw new ModelStoreError("pull_in_progress", `process ${pid} is already pulling ${name} (lock ${path})`);
    }
    await rm(path, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
