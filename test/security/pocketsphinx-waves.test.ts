/**
 * Issue 13: the server aborted (exit 134, `free(): invalid size`) when PocketSphinx streams opened
 * while others closed. Cause: every ps_init given `-logfn` swapped sphinxbase's one process-wide
 * log FILE and fclosed the old one, with no lock, while decoders on other threads wrote to it.
 *
 * A child process (the `waves` workload of packages/test-support/src/native-waves.ts, which `npm run soak:native`
 * runs for minutes: one driver for both) runs the real engine under glibc's heap
 * checks (freed memory overwritten, and the malloc debug library where installed) and serves real
 * speech in overlapping waves on fresh engines, whose decoding processes start and create decoders
 * together (the processes inherit the heap checks; a crash in one fails its streams, which fails
 * the child). Its vocabulary is just the clips' words, so that ps_init, where the race was, runs 20×
 * as often as with the full model. The child must live to the end, and every stream it ended must
 * get the transcript its clip gets when decoded alone. Before the fix, 10 of 10 runs failed: 9 hung
 * (a decoding thread waiting forever for the lock of a freed log FILE), 1 aborted (`malloc():
 * unsorted double linked list corrupted`).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { heapCheckEnv } from "@earshot/test-support";

const CHILD = new URL("../../../packages/test-support/dist/native-waves.js", import.meta.url).pathname;
const SECONDS = 25;
const STREAMS_PER_WAVE = 6;
/** The child normally ends after ~30 s; one still running at this point is stuck. */
const HUNG_AFTER_MS = 55_000;

interface DoneLine {
  readonly type: "done";
  readonly engines: number;
  readonly waves: number;
  readonly ended: number;
  readonly cut: number;
  /** Streams whose transcript differed from their clip's alone (each also printed as a `mismatch` line). */
  readonly mismatches: number;
  readonly rssMb: number;
}

test("PocketSphinx streams opening and closing in overlapping waves under glibc heap checks: no crash, every transcript", {
  timeout: HUNG_AFTER_MS + 10_000,
}, async (t) => {
  const child = spawn(
    process.execPath,
    [CHILD, "waves", "--seconds", String(SECONDS), "--streams", String(STREAMS_PER_WAVE), "--vocabulary", "small"],
    { env: heapCheckEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), HUNG_AFTER_MS);
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  clearTimeout(killer);
  const lines = stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { type: string });
  const done = lines.find((line): line is DoneLine => line.type === "done");
  const waves = lines.filter((line) => line.type === "wave").length;
  assert.equal(
    signal,
    null,
    `the child was killed by ${signal} after ${waves} waves (hung?); stderr: ${stderr.slice(-2000)}`,
  );
  assert.equal(code, 0, `the child exited ${code} after ${waves} waves; stderr: ${stderr.slice(-2000)}`);
  assert.ok(done, "no summary line");
  t.diagnostic(
    `${done.engines} engines, ${done.waves} waves, ${done.ended} streams ended, ${done.cut} cut; RSS at the end ${done.rssMb} MB`,
  );
  assert.deepEqual(
    lines.filter((line) => line.type === "mismatch"),
    [],
  );
  assert.equal(done.mismatches, 0);
  assert.equal(done.waves, waves);
  assert.ok(done.ended >= 4 * STREAMS_PER_WAVE, `only ${done.ended} streams ended`);
});
