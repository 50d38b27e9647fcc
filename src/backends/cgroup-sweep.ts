import { readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { withBackoff } from "../backoff.js";
import { killQuietly } from "../proc/signal.js";

/** How long the processes of a swept cgroup get to die before its directories are given up on. */
const SWEEP_MS = 5_000;

/** The directory and every cgroup under it, deepest first. */
function deepestFirst(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return [...entries.filter((e) => e.isDirectory()).flatMap((e) => deepestFirst(join(dir, e.name))), dir];
}

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .map(Number)
      .filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
  } catch {
    return [];
  }
}

/**
 * Removes the cgroup directories a failed or crashed create left: SIGKILL to every process in them
 * (the container's init and whatever it started), then rmdir deepest first, again until they are
 * gone or SWEEP_MS passed (a killed process leaves its cgroup only once the kernel has reaped it),
 * then fails naming them.
 */
export async function sweepCgroups(dirs: readonly string[]): Promise<void> {
  let left = dirs.flatMap(deepestFirst);
  await withBackoff(
    SWEEP_MS,
    async () => {
      for (const d of left) for (const pid of pidsIn(d)) killQuietly(pid);
      left = left.filter((d) => !removed(d));
      return left.length === 0 ? true : undefined;
    },
    () => new Error(`cgroups still busy: ${left.join(", ")}`),
  );
}

function removed(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
}
