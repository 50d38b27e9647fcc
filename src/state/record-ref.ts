import { join } from "node:path";
import type { ContainerRecord } from "./record.js";

/**
 * Pure: a record of a backend whose runtime keeps its state under the container's directory
 * (`runtimeRoot`, the registry's name for it: `<root>/<id>/crun`) whose ref does not name that
 * root: missing (`has no crun root`), or somewhere else, which only a hand edit or a planted record
 * could have put there. `delete --force` then purges the container's directory (the runtime called
 * with the root derived from the directory, never from the record) instead of following the ref.
 */
export function refMisplaced(rec: ContainerRecord, dir: string, runtimeRoot: string | undefined): boolean {
  return runtimeRoot !== undefined && rec.nexcage.ref["root"] !== join(dir, runtimeRoot);
}
