import type { Config } from "../config/schema.js";
import { BackendError, InvalidArgumentError } from "../errors.js";
import type { ContainerRecord } from "../state/record.js";
import { removeEntry, type ImageEntry } from "./image-store.js";
import { findStored } from "./stored-image.js";
import { parseImageReference } from "./reference.js";

/**
 * Removes a stored template or pulled image unless a container record still names it.
 * `records` are the containers under the root (their `nexcage.image.volid`).
 */
export function removeImage(cfg: Config, input: string, storage: string | undefined, records: readonly ContainerRecord[]): ImageEntry {
  const ref = parseImageReference(input);
  if (ref.kind === "path") throw new InvalidArgumentError(`rmi removes images from template storage; ${input} is a local path`);
  const entry = findStored(cfg, ref, storage);
  if (!entry) throw new BackendError(`no such image: ${input}`);
  const users = records.filter((r) => r.nexcage.image?.volid === entry.volid).map((r) => r.id);
  if (users.length > 0) throw new BackendError(`image ${entry.volid} is used by container${users.length > 1 ? "s" : ""} ${users.join(", ")} (delete ${users.length > 1 ? "them" : "it"} first)`);
  removeEntry(entry);
  return entry;
}
