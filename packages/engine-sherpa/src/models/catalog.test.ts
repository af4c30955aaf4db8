import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { archiveUrl, CATALOG, DEFAULT_MODELS_BASE_URL, findCatalogEntry } from "./catalog.js";
import { loadCatalog } from "./catalog-file.js";
import { ModelStoreError } from "./model-store-error.js";

describe("model catalogue", () => {
  it("has unique, directory-safe names that map to the upstream archive names", () => {
    assert.equal(new Set(CATALOG.map((entry) => entry.name)).size, CATALOG.length);
    for (const entry of CATALOG) {
      assert.match(entry.name, /^[A-Za-z0-9][A-Za-z0-9._-]*$/);
      assert.equal(entry.archive, `sherpa-onnx-streaming-${entry.name}`);
      assert.match(entry.archiveSha256 ?? "", /^[0-9a-f]{64}$/, entry.name);
      assert.ok((entry.archiveBytes ?? 0) > 50_000_000, entry.name);
      assert.equal(
        archiveUrl(entry),
        `https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/${entry.archive}.tar.bz2`,
      );
    }
    assert.equal(
      archiveUrl(CATALOG[0] as (typeof CATALOG)[0], "http://mirror/x/"),
      `http://mirror/x/${CATALOG[0]?.archive}.tar.bz2`,
    );
    assert.ok(DEFAULT_MODELS_BASE_URL.startsWith("https://"));
  });

  it("covers English, Mandarin and bilingual models", () => {
    for (const languages of [["en"], ["zh"], ["zh", "en"]]) {
      assert.ok(
        CATALOG.some((entry) => entry.languages.join() === languages.join()),
        languages.join(),
      );
    }
  });

  it("an unknown name is a model_unknown error listing the names", () => {
    assert.throws(
      () => findCatalogEntry("nope"),
      (error: unknown) =>
        error instanceof ModelStoreError &&
        error.code === "model_unknown" &&
        error.message.includes("zipformer-en-2023-06-26"),
    );
  });

  it("an extra catalogue file adds entries and replaces built-in names; a malformed one is catalog_invalid", () => {
    const dir = mkdtempSync(join(tmpdir(), "earshot-catalog-"));
    const file = join(dir, "catalog.json");
    const files = { encoder: "e.onnx", decoder: "d.onnx", joiner: "j.onnx", tokens: "tokens.txt" };
    const entry = { archive: "own-model", languages: ["fr"], modelType: "zipformer2", modelingUnit: "bpe", files };
    writeFileSync(
      file,
      JSON.stringify([
        { ...entry, name: "own-fr", url: "https://models.example/own.tar.bz2" },
        { ...entry, name: "zipformer-en-2023-06-26" },
      ]),
    );
    const catalog = loadCatalog(file);
    assert.equal(catalog.length, CATALOG.length + 1);
    assert.equal(archiveUrl(findCatalogEntry("own-fr", catalog)), "https://models.example/own.tar.bz2");
    assert.equal(findCatalogEntry("zipformer-en-2023-06-26", catalog).archiveSha256, undefined);

    for (const [bad, field] of [
      [{ ...entry, name: "../up" }, '"name"'],
      [{ ...entry, name: "x", files: { ...files, tokens: "../../etc/passwd" } }, '"files.tokens"'],
      [{ ...entry, name: "x", modelType: "whisper" }, '"modelType"'],
      [{ ...entry, name: "x", archiveSha256: "abc" }, '"archiveSha256"'],
    ] as const) {
      writeFileSync(file, JSON.stringify([bad]));
      assert.throws(
        () => loadCatalog(file),
        (error: unknown) =>
          error instanceof ModelStoreError && error.code === "catalog_invalid" && error.message.includes(field),
        field,
      );
    }
    writeFileSync(file, "{not json");
    assert.throws(() => loadCatalog(file), /catalog_invalid|cannot read the catalogue/);
  });
});
