import { join } from "node:path";
import type { ContainerRecord } from "./record.js";

/** The backends whose runtime keeps its state under the container's directory, at `<dir>/<backend>`. */
const RUNTIME_ROOT_BACKENDS: ReadonlySet<string> = new Set(["crun", "runc"]);

/**
 * Pure: a crun or runc record whose ref does not name the runtime root nexcage made for it
 * (`<root>/<id>/<backend>`): missing (`has no crun root`), or somewhere else, which only a hand edit
 * or a planted record could have put there. `delete --force` then purges the container's directory
 * (the runtime called with the root derived from the directory, never from the record) instead of
 * following the ref.
 */
export function refMisplaced(rec: ContainerRecord, dir: string): boolean {
  return RUNTIME_ROOT_BACKENDS.has(rec.nexcage.backend) && rec.nexcage.ref["root"] !== join(dir, rec.nexcage.backend);
}
