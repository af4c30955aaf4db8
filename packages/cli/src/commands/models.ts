import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  adoptModelDir,
  archiveUrl,
  type CatalogEntry,
  DEFAULT_MODELS_BASE_URL,
  defaultModelsDir,
  findCatalogEntry,
  listInstalled,
  loadCatalog,
  ModelStoreError,
  partialDownloadPath,
  pullModel,
  removeModelDir,
  SherpaOnnxEngine,
  verifyModelDir,
} from "@earshot/engine-sherpa";
import { CliError } from "../cli-error.js";
import { formatBytes, ProgressReporter } from "./models-progress.js";

const HELP = `usage: earshot models list [--json]
       earshot models pull <name> [--force] [--base-url URL | --url URL]
       earshot models pull <name> --model-dir DIR
       earshot models verify <name> | --model-dir DIR [--files-only]
       earshot models rm <name> | --model-dir DIR

  Official sherpa-onnx streaming models: list the catalogue and what is installed, download one
  (HTTPS, resumable, sha256-checked) into the cache, check an installed one, remove one.
  --model-dir DIR  a model unpacked by hand (air-gapped machines): pull records its checksums in
                   DIR/earshot-model.json without downloading; verify and rm act on DIR
  --base-url URL   where the archives are (a mirror); or EARSHOT_MODELS_BASE_URL
  --url URL        the archive itself, for this one pull
  --force          pull again even when installed
  --files-only     verify sizes and sha256 only; by default verify also checks the model as the
                   server loads it (ONNX metadata, tokens, a trial load in a child process)
  --json           list as JSON
  cache: EARSHOT_MODELS_DIR, else $XDG_CACHE_HOME/earshot/models, else ~/.cache/earshot/models
  more models: EARSHOT_MODELS_CATALOG=<file.json> (docs/engines.md, "Models")`;

/** Errors a user fixes by changing the command line exit 2; the rest 1 (as in main.ts). */
const USAGE_CODES = new Set(["model_unknown", "catalog_invalid"]);

export async function models(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h", default: false },
      json: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      "files-only": { type: "boolean", default: false },
      "model-dir": { type: "string" },
      "base-url": { type: "string" },
      url: { type: "string" },
    },
  });
  const [action, name, ...extra] = positionals;
  if (values.help || action === undefined) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) throw new CliError(`unexpected arguments: ${extra.join(" ")}\n${HELP}`);
  const modelDir = values["model-dir"] === undefined ? undefined : resolve(values["model-dir"]);
  try {
    const catalog = loadCatalog(process.env.EARSHOT_MODELS_CATALOG);
    const modelsDir = defaultModelsDir();
    switch (action) {
      case "list":
        return await list(catalog, modelsDir, values.json);
      case "pull": {
        if (name === undefined) throw new CliError(`pull needs a model name\n${HELP}`);
        const entry = findCatalogEntry(name, catalog);
        if (modelDir !== undefined) return await adopt(entry, modelDir, values.force);
        if (values.url !== undefined && values["base-url"] !== undefined) {
          throw new CliError("use --url or --base-url, not both");
        }
        const baseUrl = values["base-url"] || process.env.EARSHOT_MODELS_BASE_URL || DEFAULT_MODELS_BASE_URL;
        const url = values.url ?? archiveUrl(entry, baseUrl);
        if (!URL.canParse(url)) throw new CliError(`not a URL: "${url}"`);
        return await pull(entry, modelsDir, url, values.force);
      }
      case "verify":
        return await verify(modelDir ?? (await installedDir(name, catalog, modelsDir)), values["files-only"]);
      case "rm":
        return await remove(modelDir, name, catalog, modelsDir);
      default:
        throw new CliError(`unknown models command "${action}"\n${HELP}`);
    }
  } catch (error) {
    if (error instanceof ModelStoreError) {
      throw new CliError(`${error.code}: ${error.message}`, { exitCode: USAGE_CODES.has(error.code) ? 2 : 1 });
    }
    throw error;
  }
}

/**
 * The cache directory of a model: a catalogue name, or the name of an installed model the
 * catalogue no longer lists (one pulled with an extra catalogue that is not set now).
 */
async function installedDir(
  name: string | undefined,
  catalog: readonly CatalogEntry[],
  modelsDir: string,
): Promise<string> {
  if (name === undefined) throw new CliError(`name a model or give --model-dir\n${HELP}`);
  const installed = await listInstalled(modelsDir);
  return installed.find((model) => model.name === name)?.dir ?? join(modelsDir, findCatalogEntry(name, catalog).name);
}

async function list(catalog: readonly CatalogEntry[], modelsDir: string, json: boolean): Promise<number> {
  const installed = await listInstalled(modelsDir);
  const rows = catalog.map((entry) => {
    const found = installed.find((model) => model.name === entry.name);
    return { entry, installed: found };
  });
  // Installed models the catalogue no longer names (an extra catalogue that is not set now).
  const others = installed.filter((model) => !catalog.some((entry) => entry.name === model.name));
  if (json) {
    const out = {
      modelsDir,
      models: rows.map(({ entry, installed: found }) => ({
        ...entry,
        checksum: entry.archiveSha256 === undefined ? "first-use" : "pinned",
        installed: found ? { dir: found.dir, diskBytes: found.diskBytes, manifest: found.manifest } : null,
      })),
      uncatalogued: others.map((model) => ({ name: model.name, dir: model.dir, diskBytes: model.diskBytes })),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const table = [["name", "languages", "type", "archive", "checksum", "installed"]];
  for (const { entry, installed: found } of rows) {
    table.push([
      entry.name,
      entry.languages.join("+"),
      entry.modelType,
      entry.archiveBytes === undefined ? "?" : formatBytes(entry.archiveBytes),
      entry.archiveSha256 === undefined ? "first use" : "pinned",
      found ? `${formatBytes(found.diskBytes)} in ${found.dir}` : "-",
    ]);
  }
  for (const model of others) {
    table.push([
      model.name,
      model.manifest.spec.languages.join("+"),
      model.manifest.spec.modelType,
      "?",
      "-",
      model.dir,
    ]);
  }
  const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => (row[column] ?? "").length))) ?? [];
  const lines = table.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
  process.stdout.write(
    `models directory: ${modelsDir}\n${lines.join("\n")}\n` +
      `checksum "pinned": the archive's sha256 is known before download; "first use": none is known, so the\n` +
      `first pull records the archive's and every file's sha256 in earshot-model.json and verify checks those.\n`,
  );
  return 0;
}

async function pull(entry: CatalogEntry, modelsDir: string, url: string, force: boolean): Promise<number> {
  const { protocol, hostname } = new URL(url);
  if (protocol === "http:" && !["127.0.0.1", "localhost", "[::1]"].includes(hostname)) {
    process.stderr.write(`earshot: warning: ${url} is plain http; the sha256 check is what protects this download\n`);
  }
  const progress = new ProgressReporter(entry.name, process.stderr);
  const result = await pullModel({
    entry,
    modelsDir,
    url,
    force,
    onProgress: (update) => progress.update(update),
    onStage: () => progress.done("extracting"),
  }).finally(() => progress.done());
  if (result.alreadyInstalled) {
    process.stdout.write(`${entry.name} is already installed in ${result.dir} (--force to pull it again)\n`);
    return 0;
  }
  const checksum =
    result.manifest.archive?.checksum === "pinned"
      ? "sha256 matched the catalogue"
      : `no sha256 was known: recorded ${result.manifest.archive?.sha256} on first use`;
  process.stdout.write(`installed ${entry.name} in ${result.dir} (${checksum})\n`);
  return 0;
}

async function adopt(entry: CatalogEntry, dir: string, force: boolean): Promise<number> {
  const result = await adoptModelDir(entry, dir, force);
  process.stdout.write(
    result.alreadyInstalled
      ? `${dir} already has an earshot-model.json (--force to record it again)\n`
      : `recorded ${entry.name} in ${dir}/earshot-model.json (checksums trusted on first use)\n`,
  );
  return 0;
}

async function verify(dir: string, filesOnly: boolean): Promise<number> {
  const result = await verifyModelDir(dir);
  for (const file of result.files) {
    process.stdout.write(`${file.status.padEnd(14)} ${file.path}${file.detail ? `  (${file.detail})` : ""}\n`);
  }
  if (!result.ok) {
    throw new ModelStoreError("model_modified", `${dir} does not match its earshot-model.json; pull it again`);
  }
  process.stdout.write(`${result.manifest.spec.name} in ${dir}: every file matches its recorded size and sha256\n`);
  if (filesOnly) return 0;
  // Then as the server would load it: the preflight (metadata, tokens) and a trial load in a child.
  const engine = new SherpaOnnxEngine({ models: [dir] });
  try {
    await engine.load();
  } catch (error) {
    throw new CliError(`${dir} fails the sherpa-onnx engine's checks: ${(error as Error).message}`, { exitCode: 1 });
  } finally {
    await engine.close();
  }
  process.stdout.write(`${result.manifest.spec.name} loads: preflight and trial load in a child process passed\n`);
  return 0;
}

async function remove(
  modelDir: string | undefined,
  name: string | undefined,
  catalog: readonly CatalogEntry[],
  modelsDir: string,
): Promise<number> {
  if (modelDir !== undefined) {
    await removeModelDir(modelDir);
    process.stdout.write(`removed ${modelDir}\n`);
    return 0;
  }
  const dir = await installedDir(name, catalog, modelsDir);
  const partial = partialDownloadPath(modelsDir, name as string);
  try {
    await removeModelDir(dir, partial);
  } catch (error) {
    // Not installed, but an interrupted download may be there: that is what `rm` is asked to remove.
    if (!(error instanceof ModelStoreError && error.code === "model_not_installed")) throw error;
    if (
      !(await rm(partial).then(
        () => true,
        () => false,
      ))
    )
      throw error;
    process.stdout.write(`removed the partial download ${partial}\n`);
    return 0;
  }
  process.stdout.write(`removed ${dir}\n`);
  return 0;
}
