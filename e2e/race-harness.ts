import { expect } from "vitest";
import { nexcageMessage, type Run } from "./helpers.js";

/**
 * The racing-operations case of the concurrency suites: 20 operations on one id, all at once
 * (create, start, state, list, kill, kill --all, delete, delete --force, run -d).
 */
export function raceOps(bundle: string, id: string): string[][] {
  return [
    ["create", "-b", bundle, id], ["start", id], ["state", id], ["kill", id, "KILL"], ["delete", id],
    ["create", "-b", bundle, id], ["state", id], ["start", id], ["kill", id, "TERM"], ["delete", "--force", id],
    ["create", "-b", bundle, id], ["start", id], ["state", id], ["list"], ["kill", "--all", id, "KILL"],
    ["state", id], ["delete", "--force", id], ["run", "-d", "-b", bundle, id], ["kill", id, "KILL"], ["create", "-b", bundle, id],
  ];
}

/** Every failed call of the race said why in one line, from the set a race on `id` can cause. */
export function expectRaceFailuresKnown(ops: string[][], results: Run[], id: string): void {
  const known = new RegExp(
    `^(container does not exist|container with given ID already exists|container not running|cannot start an already running container|cannot start a container that has stopped|cannot delete container ${id} that is not stopped: running|container ${id} is busy: another nexcage operation holds it|[a-z]+ failed: .+)$`,
  );
  for (const [i, r] of results.entries()) {
    if (r.code === 0) continue;
    expect(r.stderr.trim().split("\n"), `${ops[i]!.join(" ")}: ${r.stderr}`).toHaveLength(1);
    expect(nexcageMessage(r.stderr), ops[i]!.join(" ")).toMatch(known);
  }
}
