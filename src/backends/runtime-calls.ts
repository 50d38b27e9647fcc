import { readdirSync, readFileSync } from "node:fs";
import { withBackoff } from "../backoff.js";
import { killQuietly } from "../proc/signal.js";

/** How long a runtime process still working on a container gets to die after SIGKILL. */
const STOP_MS = 5_000;

/** True when an argv is a runtime call on the container whose runtime root is `root` (`--root <root>` or `--root=<root>`). */
export function namesRuntimeRoot(argv: readonly string[], root: string): boolean {
  return argv.some((a, i) => (a === "--root" && argv[i + 1] === root) || a === `--root=${root}`);
}

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
  } catch {
    return [];
  }
}

/** Pids of the processes (not this one) whose argv names this runtime root. */
export function runtimeCallsOn(root: string): number[] {
  return readdirSync("/proc")
    .filter((e) => /^[0-9]+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== process.pid && namesRuntimeRoot(argvOf(pid), root));
}

/**
 * SIGKILL to every runtime process still working on the container with this runtime root (a
 * `crun create` whose nexcage was killed goes on, and would make its root again after the
 * directory is removed), then wait until they are gone.
 */
export async function stopRuntimeCalls(root: string): Promise<void> {
  await withBackoff(
    STOP_MS,
    async () => {
      const pids = runtimeCallsOn(root);
      for (const pid of pids) killQuietly(pid);
      return pids.length === 0 ? true : undefined;
    },
    () => new Error(`runtime processes on ${root} did not exit`),
  );
}
