/**
 * `earshot models pull` when things go wrong, against a loopback server: a checksum mismatch on a
 * real catalogue name (its real URL is never fetched: the base URL points at loopback), server
 * errors, a full disk, an unwritable cache, an unknown name, and archives that are incomplete or
 * try to write outside their directory. After each, nothing looks installed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ArchiveServer } from "./helpers/archive-server.js";
import { buildFixtureArchive, FIXTURE_FILES, type FixtureArchive, fixtureEntry } from "./helpers/model-archives.js";
import { runEarshot } from "./helpers/run-cli.js";

const TOP = "sherpa-onnx-streaming-zipformer-fixture-en-2026-01-01";
const REAL_NAME = "zipformer-en-20M-2023-02-17";
const REAL_ARCHIVE = "sherpa-onnx-streaming-zipformer-en-20M-2023-02-17.tar.bz2";

describe("earshot models: failures", () => {
  const server = new ArchiveServer();
  let archive: FixtureArchive;
  let work: string;
  let env: NodeJS.ProcessEnv;
  const modelsDir = () => env.EARSHOT_MODELS_DIR as string;

  before(async () => {
    archive = buildFixtureArchive(TOP);
    const noTokens = buildFixtureArchive("no-tokens", { omit: [FIXTURE_FILES.tokens] });
    const symlink = buildFixtureArchive("with-symlink", { symlink: true });
    const dotDot = buildFixtureArchive("dot-dot", { dotDot: true });
    work = mkdtempSync(join(tmpdir(), "earshot-models-fail-"));
    const catalog = join(work, "catalog.json");
    writeFileSync(
      catalog,
      JSON.stringify([
        fixtureEntry("fixture-en", TOP, archive),
        fixtureEntry("no-tokens", "no-tokens", noTokens),
        fixtureEntry("with-symlink", "with-symlink", symlink),
        fixtureEntry("dot-dot", "dot-dot"),
      ]),
    );
    server.serve(`${TOP}.tar.bz2`, archive.bytes);
    server.serve(REAL_ARCHIVE, archive.bytes);
    server.serve("no-tokens.tar.bz2", noTokens.bytes);
    server.serve("with-symlink.tar.bz2", symlink.bytes);
    server.serve("dot-dot.tar.bz2", dotDot.bytes);
    env = {
      EARSHOT_MODELS_DIR: join(work, "models"),
      EARSHOT_MODELS_CATALOG: catalog,
      EARSHOT_MODELS_BASE_URL: await server.listen(),
    };
  });

  after(() => server.close());

  /** Nothing in the cache but what `keep` names. */
  function assertNothingInstalled(keep: readonly string[] = []) {
    const left = existsSync(modelsDir()) ? readdirSync(modelsDir()).filter((name) => !keep.includes(name)) : [];
    assert.deepEqual(left, []);
  }

  it("checksum mismatch: an error, the partial deleted, nothing installed", async () => {
    const pulled = await runEarshot(["models", "pull", REAL_NAME], env);
    assert.equal(pulled.code, 1);
    assert.match(
      pulled.stderr,
      new RegExp(`checksum_mismatch: .*sha256 ${archive.sha256}, expected 9c559283e849.*the download was deleted`),
    );
    assert.equal(server.requests.at(-1)?.path, `/asr-models/${REAL_ARCHIVE}`);
    assertNothingInstalled();
  });

  for (const status of [500, 404]) {
    it(`server error ${status}: download_failed with the status, nothing installed`, async () => {
      server.failNext(status);
      const pulled = await runEarshot(["models", "pull", "fixture-en"], env);
      assert.equal(pulled.code, 1);
      assert.match(
        pulled.stderr,
        new RegExp(`download_failed: http://127\\.0\\.0\\.1:\\d+/asr-models/${TOP}\\.tar\\.bz2: HTTP ${status}`),
      );
      assertNothingInstalled();
    });
  }

  it("network error (nothing listening): download_failed", async () => {
    const closed = createServer().listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, "close");
    const pulled = await runEarshot(["models", "pull", "fixture-en", "--base-url", `http://127.0.0.1:${port}/x`], env);
    assert.equal(pulled.code, 1);
    assert.match(pulled.stderr, /download_failed: .*ECONNREFUSED/);
    assertNothingInstalled();
  });

  it("no disk space (the partial file is /dev/full): no_space, nothing installed", async () => {
    mkdirSync(modelsDir(), { recursive: true });
    const partial = join(modelsDir(), "fixture-en.tar.bz2.partial");
    symlinkSync("/dev/full", partial);
    const pulled = await runEarshot(["models", "pull", "fixture-en"], env);
    assert.equal(pulled.code, 1);
    assert.match(pulled.stderr, /no_space: no space left on the device while writing /);
    assertNothingInstalled(["fixture-en.tar.bz2.partial"]);
    const removed = await runEarshot(["models", "rm", "fixture-en"], env);
    assert.match(removed.stdout, /removed the partial download/);
    assertNothingInstalled();
  });

  it("no write permission (a cache under /sys, read-only even for root): no_permission", async () => {
    const pulled = await runEarshot(["models", "pull", "fixture-en"], {
      ...env,
      EARSHOT_MODELS_DIR: "/sys/earshot-models-test",
    });
    assert.equal(pulled.code, 1);
    assert.match(pulled.stderr, /no_permission: cannot write \/sys\/earshot-models-test .*\((EACCES|EPERM|EROFS)\)/);
    assert.ok(!existsSync("/sys/earshot-models-test"));
  });

  it("a cache under /proc (where Node's recursive mkdir would spin for ever): no_permission at once", {
    timeout: 20_000,
  }, async () => {
    const pulled = await runEarshot(["models", "pull", "fixture-en"], {
      ...env,
      EARSHOT_MODELS_DIR: "/proc/earshot-models",
    });
    assert.equal(pulled.code, 1);
    assert.match(pulled.stderr, /no_permission: cannot write \/proc\/earshot-models \(under \/proc\)/);
  });

  it("unknown name: model_unknown listing the catalogue, exit 2", async () => {
    const pulled = await runEarshot(["models", "pull", "zipformer-klingon"], env);
    assert.equal(pulled.code, 2);
    assert.match(
      pulled.stderr,
      /model_unknown: unknown model "zipformer-klingon"; the catalogue has: .*zipformer-zh-int8-2025-06-30/,
    );
    assert.equal((await runEarshot(["models", "verify", "zipformer-klingon"], env)).code, 2);
  });

  it("an archive without the expected files: archive_invalid naming them, nothing installed", async () => {
    const pulled = await runEarshot(["models", "pull", "no-tokens"], env);
    assert.equal(pulled.code, 1);
    assert.match(pulled.stderr, /archive_invalid: no-tokens: tokens\.txt not found/);
    assertNothingInstalled();
  });

  it("an archive with a symlink or a ../ path: archive_invalid, nothing written outside", async () => {
    for (const name of ["with-symlink", "dot-dot"]) {
      const pulled = await runEarshot(["models", "pull", name], env);
      assert.equal(pulled.code, 1, name);
      assert.match(pulled.stderr, /archive_invalid: .*refused entries/, name);
      assertNothingInstalled();
    }
    assert.ok(!existsSync(join(work, "escaped.txt")));
    assert.ok(!existsSync(join(modelsDir(), "..", "escaped.txt")));
  });

  it("a second pull of the same model stops while the first runs; a lock left by a dead process is taken over", async () => {
    mkdirSync(modelsDir(), { recursive: true });
    const lock = join(modelsDir(), ".fixture-en.lock");
    writeFileSync(lock, `${process.pid}\n`);
    const blocked = await runEarshot(["models", "pull", "fixture-en"], env);
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, new RegExp(`pull_in_progress: process ${process.pid} is already pulling fixture-en`));
    assert.ok(existsSync(lock), "another process's lock is left alone");
    const exited = spawnSync(process.execPath, ["-e", "0"]);
    writeFileSync(lock, `${exited.pid}\n`);
    const pulled = await runEarshot(["models", "pull", "fixture-en"], env);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.ok(!existsSync(lock), "released after the pull");
  });
});
