/**
 * `earshot models` against a loopback server serving a fixture archive: pull, list, verify, rm,
 * resuming an interrupted download, trust on first use, and a model placed by hand.
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { verifyModelDir } from "@earshot/engine-sherpa";
import { ArchiveServer } from "./helpers/archive-server.js";
import {
  buildFixtureArchive,
  FIXTURE_FILES,
  type FixtureArchive,
  fixtureEntry,
  UNUSED_WEIGHTS,
} from "./helpers/model-archives.js";
import { runEarshot } from "./helpers/run-cli.js";

const TOP = "sherpa-onnx-streaming-zipformer-fixture-en-2026-01-01";

describe("earshot models: pull, list, verify, rm", () => {
  const server = new ArchiveServer();
  let archive: FixtureArchive;
  let work: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    archive = buildFixtureArchive(TOP);
    work = mkdtempSync(join(tmpdir(), "earshot-models-"));
    const catalog = join(work, "catalog.json");
    writeFileSync(
      catalog,
      JSON.stringify([fixtureEntry("fixture-en", TOP, archive), fixtureEntry("fixture-tofu", TOP)]),
    );
    server.serve(`${TOP}.tar.bz2`, archive.bytes);
    env = {
      EARSHOT_MODELS_DIR: join(work, "models"),
      EARSHOT_MODELS_CATALOG: catalog,
      EARSHOT_MODELS_BASE_URL: await server.listen(),
    };
  });

  after(() => server.close());

  it("pulls a model: files extracted, unused weights left out, manifest written, verify ok, list shows it, rm removes it", async () => {
    const pulled = await runEarshot(["models", "pull", "fixture-en"], env);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /installed fixture-en .*sha256 matched the catalogue/);
    assert.match(pulled.stderr, /downloading fixture-en: .* \(100%\)/, "plain progress lines off a terminal");
    const dir = join(work, "models", "fixture-en");
    for (const [name, data] of archive.files) {
      if (name === UNUSED_WEIGHTS) assert.ok(!existsSync(join(dir, name)), "the fp32 twin is not kept");
      else assert.deepEqual(readFileSync(join(dir, name)), data, name);
    }
    const manifest = JSON.parse(readFileSync(join(dir, "earshot-model.json"), "utf8"));
    assert.equal(manifest.spec.name, "fixture-en");
    assert.deepEqual(manifest.spec.files, { ...FIXTURE_FILES, bpeVocab: "bpe.vocab" });
    assert.equal(manifest.spec.modelType, "zipformer");
    assert.deepEqual(manifest.archive, { sha256: archive.sha256, bytes: archive.bytes.length, checksum: "pinned" });
    assert.equal(Object.keys(manifest.sha256).length, 5);
    assert.equal(manifest.bytes[FIXTURE_FILES.encoder], archive.files.get(FIXTURE_FILES.encoder)?.length);
    assert.equal(manifest.source, `${env.EARSHOT_MODELS_BASE_URL}/${TOP}.tar.bz2`);
    assert.deepEqual(
      readdirSync(join(work, "models")).filter((name) => name !== "fixture-en"),
      [],
      "no partial file or temporary directory left",
    );

    const verified = await runEarshot(["models", "verify", "fixture-en", "--files-only"], env);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stdout.match(/^ok /gm)?.length, 5);

    const listed = JSON.parse((await runEarshot(["models", "list", "--json"], env)).stdout);
    const row = listed.models.find((model: { name: string }) => model.name === "fixture-en");
    assert.equal(row.installed.dir, dir);
    assert.ok(row.installed.diskBytes > 100_000);
    const text = await runEarshot(["models", "list"], env);
    assert.match(text.stdout, new RegExp(`fixture-en +en +zipformer +\\S+ kB +pinned +\\S+ kB in ${dir}`));
    assert.match(text.stdout, /^zipformer-zh-int8-2025-06-30 +zh +zipformer2 +132\.6 MB +pinned +-$/m);

    const again = await runEarshot(["models", "pull", "fixture-en"], env);
    assert.match(again.stdout, /already installed/);
    assert.equal(server.requests.length, 1, "an installed model is not downloaded again");

    const removed = await runEarshot(["models", "rm", "fixture-en"], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.ok(!existsSync(dir));
    const removedTwice = await runEarshot(["models", "rm", "fixture-en"], env);
    assert.equal(removedTwice.code, 1);
    assert.match(removedTwice.stderr, /model_not_installed/);
  });

  it("resumes an interrupted download with a Range request, without fetching the first bytes again", async () => {
    server.requests.length = 0;
    const cutAt = 40_000;
    server.cutNextAfter(cutAt);
    const first = await runEarshot(["models", "pull", "fixture-en"], env);
    assert.equal(first.code, 1);
    assert.match(first.stderr, /download_failed: .*connection lost after 40000 bytes; run the same command again/);
    const partial = join(work, "models", "fixture-en.tar.bz2.partial");
    assert.equal(statSync(partial).size, cutAt);
    assert.ok(!existsSync(join(work, "models", "fixture-en")), "a failed pull installs nothing");

    const second = await runEarshot(["models", "pull", "fixture-en"], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /resuming fixture-en at 40\.0 kB/);
    assert.deepEqual(
      server.requests.map((request) => [request.range, request.status]),
      [
        [undefined, 200],
        [`bytes=${cutAt}-`, 206],
      ],
    );
    const sent = server.requests.reduce((total, request) => total + request.bytesSent, 0);
    assert.equal(sent, archive.bytes.length, "every byte crossed the wire once");
    assert.ok(!existsSync(partial));
    assert.ok((await verifyModelDir(join(work, "models", "fixture-en"))).ok);
  });

  it("verify names a modified and a missing file", async () => {
    const dir = join(work, "models", "fixture-en");
    appendFileSync(join(dir, FIXTURE_FILES.tokens), "C 5\n");
    const modified = await runEarshot(["models", "verify", "fixture-en", "--files-only"], env);
    assert.equal(modified.code, 1);
    assert.match(modified.stdout, new RegExp(`^size_differs +${FIXTURE_FILES.tokens}`, "m"));
    assert.match(modified.stderr, /model_modified: /);
    // Same size, different content: only the sha256 tells.
    const joiner = join(dir, FIXTURE_FILES.joiner);
    const bytes = readFileSync(joiner);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    writeFileSync(joiner, bytes);
    const flipped = await verifyModelDir(dir);
    assert.equal(flipped.files.find((file) => file.path === FIXTURE_FILES.joiner)?.status, "sha256_differs");
    const pulledAgain = await runEarshot(["models", "pull", "fixture-en", "--force"], env);
    assert.equal(pulledAgain.code, 0, pulledAgain.stderr);
    assert.ok((await verifyModelDir(dir)).ok);
  });

  it("trusts an archive with no known sha256 on first use, records it, and says so", async () => {
    const listed = await runEarshot(["models", "list"], env);
    assert.match(listed.stdout, /^fixture-tofu +en +zipformer +\? +first use +-$/m);
    assert.match(listed.stdout, /"first use": none is known/);
    const pulled = await runEarshot(["models", "pull", "fixture-tofu"], env);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, new RegExp(`no sha256 was known: recorded ${archive.sha256} on first use`));
    const manifest = JSON.parse(readFileSync(join(work, "models", "fixture-tofu", "earshot-model.json"), "utf8"));
    assert.deepEqual(manifest.archive, { sha256: archive.sha256, bytes: archive.bytes.length, checksum: "first-use" });
  });

  it("records a model unpacked by hand (--model-dir) without downloading, then verifies and removes it", async () => {
    const handPlaced = join(work, "by-hand");
    const requests = server.requests.length;
    // What a user on an air-gapped machine has after `tar xf` of an archive carried over.
    const unpack = await import("node:child_process");
    unpack.execFileSync("mkdir", ["-p", handPlaced]);
    unpack.execFileSync("tar", ["-xjf", archive.path, "-C", handPlaced, "--strip-components=1"]);
    const adopted = await runEarshot(["models", "pull", "fixture-en", "--model-dir", handPlaced], env);
    assert.equal(adopted.code, 0, adopted.stderr);
    assert.match(adopted.stdout, /checksums trusted on first use/);
    assert.equal(server.requests.length, requests, "nothing downloaded");
    const manifest = JSON.parse(readFileSync(join(handPlaced, "earshot-model.json"), "utf8"));
    assert.equal(manifest.source, "local");
    assert.equal(manifest.archive, undefined);
    assert.ok((await verifyModelDir(handPlaced)).ok);
    writeFileSync(join(handPlaced, FIXTURE_FILES.decoder), "");
    const broken = await runEarshot(["models", "verify", "--model-dir", handPlaced, "--files-only"], env);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, new RegExp(`^size_differs +${FIXTURE_FILES.decoder}`, "m"));
    const removed = await runEarshot(["models", "rm", "--model-dir", handPlaced], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.ok(!existsSync(handPlaced));
  });
});
