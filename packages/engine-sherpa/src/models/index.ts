/** `earshot models`: catalogue, cache, pull, verify and removal (the spec types are exported on their own). */
export {
  archiveUrl,
  CATALOG,
  type CatalogEntry,
  DEFAULT_MODELS_BASE_URL,
  findCatalogEntry,
  specFor,
} from "./catalog.js";
export { loadCatalog } from "./catalog-file.js";
export type { DownloadProgress } from "./download.js";
export { adoptModelDir, removeModelDir } from "./local-model.js";
export {
  defaultModelsDir,
  type InstalledModel,
  listInstalled,
  partialDownloadPath,
  readManifest,
} from "./model-cache.js";
export { ModelStoreError, type ModelStoreErrorCode } from "./model-store-error.js";
export { type PullOptions, type PullResult, pullModel } from "./pull.js";
export { assertVerified, type FileCheck, type VerifyResult, verifyModelDir } from "./verify.js";
