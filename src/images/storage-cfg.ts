import { BackendError } from "../errors.js";

/** One section of /etc/pve/storage.cfg. */
export interface StorageEntry {
  readonly type: string;
  readonly id: string;
  readonly path?: string;
  readonly content: readonly string[];
  readonly disabled: boolean;
}

/** Parses Proxmox's storage.cfg (SectionConfig: `type: id` then tab-indented `key value` lines). */
export function parseStorageCfg(text: string): Map<string, StorageEntry> {
  const out = new Map<string, StorageEntry>();
  let cur: { type: string; id: string; path?: string; content: string[]; disabled: boolean } | undefined;
  for (const line of text.split("\n")) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const head = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (head) {
      cur = { type: head[1]!, id: head[2]!, content: [], disabled: false };
      out.set(cur.id, cur);
      continue;
    }
    const prop = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (!cur || !prop) continue;
    const value = prop[2] ?? "1";
    if (prop[1] === "path") cur.path = value;
    else if (prop[1] === "content") cur.content = value.split(/[,;\s]+/).filter(Boolean);
    else if (prop[1] === "disable") cur.disabled = value !== "0";
  }
  return out;
}

/**
 * The template directory of a storage, with pve-storage's refusals: unknown, disabled, not file
 * based, no `vztmpl` content. File-based storages keep templates in `<path>/template/cache`.
 */
export function templateDirOf(storages: ReadonlyMap<string, StorageEntry>, id: string): string {
  const s = storages.get(id);
  if (!s) throw new BackendError(`storage '${id}' does not exist`);
  if (s.disabled) throw new BackendError(`storage '${id}' is disabled`);
  if (s.path === undefined) throw new BackendError(`can't upload to storage type '${s.type}', not a file based storage!`);
  if (!s.content.includes("vztmpl")) throw new BackendError(`storage '${id}' is not configured for content-type 'vztmpl'`);
  return `${s.path.replace(/\/+$/, "")}/template/cache`;
}

/** Storages whose content includes templates, in file order. */
export function templateStorages(storages: ReadonlyMap<string, StorageEntry>): string[] {
  return [...storages.values()].filter((s) => !s.disabled && s.path !== undefined && s.content.includes("vztmpl")).map((s) => s.id);
}
