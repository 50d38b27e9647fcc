import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

/**
 * After the race on a Proxmox backend: the record left (if any) is readable and names `id`, the
 * only guest of that id (`ours()`, VMIDs) is the record's, and `delete --force` leaves none.
 */
export async function expectRaceLeftOneGuest(n: (args: string[]) => Promise<Run>, root: string, id: string, ours: () => number[]): Promise<void> {
  const state = await n(["state", id]);
  if (state.code === 0) {
    expect(["created", "running", "stopped"]).toContain(JSON.parse(state.stdout).status);
    const rec = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8"));
    expect(rec.id).toBe(id);
    expect(ours()).toEqual([rec.nexcage.ref.vmid]);
  } else {
    expect(nexcageMessage(state.stderr)).toBe("container does not exist");
    expect(ours()).toEqual([]);
  }
  expect((await n(["delete", "--force", id])).code).toBe(0);
  expect(existsSync(join(root, id))).toBe(false);
  expect(ours()).toEqual([]);
}
