import { errnoText } from "../errno-text.js";
import { NexcageError } from "../errors.js";
import type { Signal } from "../oci/signals.js";

/** Sends `signal` to `pid`: true when sent, false when no such process exists (any more). */
export function signalProcess(pid: number, signal: Signal): boolean {
  try {
    process.kill(pid, signal.number);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw new NexcageError(`cannot send ${signal.name} to process ${pid}: ${errnoText(e)}`);
  }
}

/** SIGKILL to `pid`, whether or not it still exists (what is being cleared may be exiting already). */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already, or never ours to kill: nothing more to do
  }
}
