/**
 * `npm run soak:native` (not in CI): the long form of test/security/pocketsphinx-waves.test.ts, for
 * issue 13's native heap corruption (streams opening while others close). For `--minutes`, rounds
 * of `native-waves.js waves` (`--round-seconds` each, the vocabulary alternating small and full) in
 * child processes under glibc's heap checks: freed memory overwritten (`glibc.malloc.perturb`) and,
 * where installed, the malloc debug library with MALLOC_CHECK_=3. A round fails if its child dies,
 * hangs (no output for a minute) or a transcript differs; the next round starts regardless, so the
 * share of failed rounds is a crash rate. Then `native-waves.js churn`, without heap checks (they
 * write to freed memory, which keeps it resident): the RSS of `--churn` decoders created and freed
 * on 2 decoding processes (their RSS added to the driver's). Exits 1 if any round failed.
 *
 *   node bench/dist/soak-native.js [--minutes 10] [--round-seconds 60] [--churn 30]
 */

import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { heapCheckEnv, MALLOC_DEBUG_LIBRARY } from "@earshot/test-support";
import { describeMachine } from "./machine.js";

const CHILD = new URL("../../packages/test-support/dist/native-waves.js", import.meta.url).pathname;
/** A round whose child prints nothing for this long is stuck (a deadlock on a freed FILE's lock was one symptom). */
const HANG_MS = 60_000;

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "round-seconds": { type: "string", default: "60" },
    churn: { type: "string", default: "30" },
  },
});
const minutes = Number(values.minutes);
const roundSeconds = Number(values["round-seconds"]);
const churnDecoders = Number(values.churn);
if (!(minutes > 0) || !(roundSeconds > 0) || !(churnDecoders > 0)) {
  throw new Error("usage: soak-native [--minutes M>0] [--round-seconds S>0] [--churn N>0]");
}

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly hung: boolean;
  readonly seconds: number;
  readonly lines: readonly Record<string, unknown>[];
  readonly stderr: string;
}

function runChild(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [CHILD, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Record<string, unknown>[] = [];
  let pending = "";
  let stderr = "";
  let hung = false;
  let watchdog = setTimeout(() => undefined, 0);
  const watch = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, HANG_MS);
  };
  watch();
  child.stdout.on("data", (chunk: Buffer) => {
    watch();
    pending += chunk;
    const complete = pending.split("\n");
    pending = complete.pop() ?? "";
    for (const line of complete) if (line.startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  return new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      clearTimeout(watchdog);
      resolve({ code, signal, hung, seconds: (Date.now() - started) / 1000, lines, stderr });
    }),
  );
}

const sum = (lines: readonly Record<string, unknown>[], key: string) =>
  lines.reduce((total, line) => total + (line.type === "done" ? Number(line[key] ?? 0) : 0), 0);

async function main(): Promise<void> {
  const command = `node bench/dist/soak-native.js --minutes ${minutes} --round-seconds ${roundSeconds} --churn ${churnDecoders}`;
  const machine = describeMachine(command);
  const env = heapCheckEnv();
  console.log(
    `soak:native: ${minutes} min of ${roundSeconds} s rounds under ${env.GLIBC_TUNABLES}${env.LD_PRELOAD ? ` + ${MALLOC_DEBUG_LIBRARY} (MALLOC_CHECK_=3)` : ""}`,
  );
  const tally = {
    small: { rounds: 0, failed: 0 },
    full: { rounds: 0, failed: 0 },
  };
  const done: Record<string, unknown>[] = [];
  const failures: string[] = [];
  const stopAt = Date.now() + minutes * 60_000;
  for (let round = 0; Date.now() < stopAt; round++) {
    const vocabulary = round % 2 === 0 ? "small" : "full";
    const seconds = Math.max(5, Math.min(roundSeconds, (stopAt - Date.now()) / 1000));
    const run = await runChild(["waves", "--seconds", String(Math.round(seconds)), "--vocabulary", vocabulary], env);
    const summary = run.lines.find((line) => line.type === "done");
    const waves = run.lines.filter((line) => line.type === "wave").length;
    const failed = run.hung || run.code !== 0 || run.signal !== null || !summary;
    tally[vocabulary].rounds++;
    if (summary) done.push(summary);
    let outcome: string;
    if (run.hung) outcome = `HUNG (no output for ${HANG_MS / 1000} s)`;
    else if (run.signal || run.code !== 0) outcome = `DIED (${run.signal ?? `exit ${run.code}`})`;
    else if (!summary || Number(summary.mismatches) > 0) outcome = `WRONG TRANSCRIPTS (${summary?.mismatches})`;
    else outcome = "ok";
    if (failed) {
      tally[vocabulary].failed++;
      const glibc = run.stderr.split("\n").find((line) => /free\(\)|malloc|glibc|corrupt|Fatal/.test(line));
      failures.push(
        `round ${round} (${vocabulary}): ${outcome} after ${run.seconds.toFixed(0)} s${glibc ? `: ${glibc}` : ""}`,
      );
    }
    console.log(
      `  round ${round} (${vocabulary} vocabulary): ${outcome} after ${run.seconds.toFixed(0)} s, ${waves} waves` +
        (summary ? `, ${summary.engines} engines, ${summary.ended} streams ended, ${summary.cut} cut` : ""),
    );
  }

  const churnRun = await runChild(["churn", "--decoders", String(churnDecoders)], process.env);
  const churn = churnRun.lines.find((line) => line.type === "churn");

  const rounds = tally.small.rounds + tally.full.rounds;
  const failed = tally.small.failed + tally.full.failed;
  const lines = [
    `command: ${command}`,
    `machine: ${machine.cpuModel}, ${machine.logicalCores} cores, ${machine.memoryGiB.toFixed(1)} GiB; node ${machine.node}; pocketsphinx ${machine.pocketsphinx}; code ${machine.code}`,
    `date: ${machine.date}`,
    `rounds failed: ${failed} of ${rounds} (small vocabulary ${tally.small.failed} of ${tally.small.rounds}, full ${tally.full.failed} of ${tally.full.rounds})`,
    ...failures.map((failure) => `  ${failure}`),
    `completed rounds: ${sum(done, "engines")} engines, ${sum(done, "waves")} waves, ${sum(done, "ended")} streams ended with their transcript checked, ${sum(done, "cut")} cut off`,
    churn
      ? `churn of ${churn.decoders} decoders on 2 decoding processes, RSS: ${churn.loadedMb} MB loaded, ${churn.peakMb} MB at the peak, ${churn.streamsClosedMb} MB with every stream closed (the idle decoders kept), ${churn.engineClosedMb} MB with the engine closed`
      : `churn: failed (${churnRun.signal ?? churnRun.code}): ${churnRun.stderr}`,
  ];
  for (const line of lines) console.log(line);
  process.exitCode = failed === 0 && churn ? 0 : 1;
}

await main();
