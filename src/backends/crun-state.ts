import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A JSON file of crun's state directory (<root>/<id>/config.json, status), or undefined when it cannot be read. */
export function readCrunStateJson(stateDir: string, file: string): unknown {
  try {
    return JSON.parse(readFileSync(join(stateDir, file), "utf8"));
  } catch {
    return undefined; // unreadable: crun's own command says what is wrong
  }
}

/** Pure: whether crun would run hooks of this kind from its copy of the spec (or cannot tell: a malformed `hooks`). */
export function runsHooks(stateConfig: object, kind: "poststart" | "poststop"): boolean {
  const hooks = (stateConfig as { hooks?: unknown }).hooks;
  if (hooks === undefined) return false;
  if (typeof hooks !== "object" || hooks === null) return true;
  const list = (hooks as Record<string, unknown>)[kind];
  return list !== undefined && !(Array.isArray(list) && list.length === 0);
}
