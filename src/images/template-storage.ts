import { readFileSync } from "node:fs";
import type { Config } from "../config/schema.js";
import { BackendError } from "../errors.js";
import { parseStorageCfg, templateDirOf, templateStorages, type StorageEntry } from "./storage-cfg.js";

/** A storage with template content and its directory. */
export interface TemplateStorage {
  readonly id: string;
  readonly dir: string;
}

function readStorages(cfg: Config): Map<string, StorageEntry> | undefined {
  try {
    return parseStorageCfg(readFileSync(cfg.images.storageConfig, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new BackendError(`cannot read ${cfg.images.storageConfig}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function defaultStorageId(cfg: Config): string {
  return cfg.images.storage ?? cfg.backends["proxmox-lxc"].templateStorage;
}

/**
 * Where storage `id` (default: images.storage, else the proxmox-lxc template storage) keeps templates:
 * from storage.cfg on a Proxmox node; without one, the proxmox-lxc template directory setting.
 */
export function resolveStorage(cfg: Config, id: string = defaultStorageId(cfg)): TemplateStorage {
  const storages = readStorages(cfg);
  if (storages) return { id, dir: templateDirOf(storages, id) };
  const lxc = cfg.backends["proxmox-lxc"];
  if (id === lxc.templateStorage) return { id, dir: lxc.templateDir };
  throw new BackendError(`storage '${id}' does not exist (no ${cfg.images.storageConfig}; only '${lxc.templateStorage}' is configured)`);
}

/** Every storage with template content. */
export function allTemplateStorages(cfg: Config): TemplateStorage[] {
  const storages = readStorages(cfg);
  if (!storages) return [resolveStorage(cfg)];
  return templateStorages(storages).map((id) => ({ id, dir: templateDirOf(storages, id) }));
}
