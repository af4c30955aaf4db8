/**
 * Extra catalogue entries from a JSON file (`EARSHOT_MODELS_CATALOG`): models an organisation
 * hosts itself, or a mirror's own names. An entry with a built-in name replaces the built-in one.
 */
import { readFileSync } from "node:fs";
import { CATALOG, type CatalogEntry } from "./catalog.js";
import { ModelStoreError } from "./model-store-error.js";

const MODEL_TYPES = new Set(["zipformer2", "zipformer", "lstm", "conformer"]);
const MODELING_UNITS = new Set(["cjkchar", "bpe", "cjkchar+bpe"]);
/** Names become directory names: no separators, no leading dot, no `..`. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The built-in catalogue plus the entries of `file` (when given). */
export function loadCatalog(file: string | undefined): readonly CatalogEntry[] {
  if (file === undefined || file === "") return CATALOG;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ModelStoreError("catalog_invalid", `cannot read the catalogue ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!Array.isArray(raw)) throw new ModelStoreError("catalog_invalid", `${file}: expected a JSON array of models`);
  const extra = raw.map((item, index) => parseEntry(item, `${file}[${index}]`));
  return [...CATALOG.filter((entry) => !extra.some((e) => e.name === entry.name)), ...extra];
}

function parseEntry(item: unknown, where: string): CatalogEntry {
  const fail = (what: string): never => {
    throw new ModelStoreError("catalog_invalid", `${where}: ${what}`);
  };
  if (typeof item !== "object" || item === null) return fail("expected an object");
  const value = item as Record<string, unknown>;
  const text = (key: string, optional = false): string | undefined => {
    const field = value[key];
    if (field === undefined && optional) return undefined;
    if (typeof field !== "string" || field === "") return fail(`"${key}" must be a non-empty string`);
    return field;
  };
  const name = text("name") as string;
  const archive = text("archive") as string;
  if (!SAFE_NAME.test(name) || name.includes("..")) fail(`"name" must match ${SAFE_NAME}`);
  if (!SAFE_NAME.test(archive) || archive.includes("..")) fail(`"archive" must match ${SAFE_NAME}`);
  const modelType = text("modelType") as string;
  if (!MODEL_TYPES.has(modelType)) fail(`"modelType" must be one of ${[...MODEL_TYPES].join(", ")}`);
  const modelingUnit = text("modelingUnit") as string;
  if (!MODELING_UNITS.has(modelingUnit)) fail(`"modelingUnit" must be one of ${[...MODELING_UNITS].join(", ")}`);
  const languages = value.languages;
  if (!Array.isArray(languages) || languages.length === 0 || !languages.every((l) => typeof l === "string")) {
    fail(`"languages" must be a non-empty array of strings`);
  }
  const files = value.files as Record<string, unknown> | undefined;
  const file = (key: string): string => {
    const path = files?.[key];
    if (typeof path !== "string" || path === "" || path.startsWith("/") || path.split("/").includes("..")) {
      return fail(`"files.${key}" must be a relative path inside the model directory`);
    }
    return path;
  };
  const archiveSha256 = text("archiveSha256", true);
  if (archiveSha256 !== undefined && !SHA256_HEX.test(archiveSha256)) fail(`"archiveSha256" must be 64 hex digits`);
  const archiveBytes = value.archiveBytes;
  if (archiveBytes !== undefined && !(Number.isSafeInteger(archiveBytes) && (archiveBytes as number) > 0)) {
    fail(`"archiveBytes" must be a positive integer`);
  }
  const optional = (key: string) => {
    const field = text(key, true);
    return field === undefined ? {} : { [key]: field };
  };
  return {
    name,
    archive,
    languages: languages as string[],
    modelType: modelType as CatalogEntry["modelType"],
    modelingUnit: modelingUnit as CatalogEntry["modelingUnit"],
    files: { encoder: file("encoder"), decoder: file("decoder"), joiner: file("joiner"), tokens: file("tokens") },
    ...(archiveSha256 === undefined ? {} : { archiveSha256 }),
    ...(archiveBytes === undefined ? {} : { archiveBytes: archiveBytes as number }),
    ...optional("url"),
    ...optional("checksumSource"),
    ...optional("accuracy"),
    ...optional("license"),
    ...optional("documentedRtf"),
    ...optional("description"),
  };
}
