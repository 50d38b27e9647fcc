import type { Config } from "../config/schema.js";
import { InvalidArgumentError } from "../errors.js";
import { entryFor, type ImageEntry } from "./image-store.js";
import { resolveStorage } from "./template-storage.js";
import { archiveFileName, type ImageReference } from "./reference.js";

/** Where a reference would live in template storage: storage id and file name. */
export function storedLocation(cfg: Config, ref: ImageReference, storage?: string): { storage: string; dir: string; file: string } {
  if (ref.kind === "path") throw new InvalidArgumentError(`${ref.path} is a local OCI image path, not an image in template storage`);
  if (ref.kind === "volume") {
    if (storage !== undefined && storage !== ref.storage) throw new InvalidArgumentError(`volume ${ref.volid} is not in storage '${storage}'`);
    return { storage: ref.storage, dir: resolveStorage(cfg, ref.storage).dir, file: ref.file };
  }
  const s = resolveStorage(cfg, storage);
  return { storage: s.id, dir: s.dir, file: ref.kind === "template" ? ref.file : archiveFileName(ref) };
}

/**
 * The stored template or pulled image a reference names, if present. A registry reference matches
 * only an archive pulled from that very reference (two registries' `app:1` share a file name).
 */
export function findStored(cfg: Config, ref: ImageReference, storage?: string): ImageEntry | undefined {
  const loc = storedLocation(cfg, ref, storage);
  const entry = entryFor(loc.storage, loc.dir, loc.file);
  if (!entry) return undefined;
  if (ref.kind === "registry" && entry.reference !== undefined && entry.reference !== ref.normalized) return undefined;
  return entry;
}
