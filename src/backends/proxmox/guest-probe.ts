import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isSameLiveProcess } from "../../proc/stat.js";
import type { Handle, Probe } from "../contract.js";

/** What `pct|qm status --verbose` said about the guest. */
export interface GuestStatus {
  readonly running: boolean;
  readonly pid: number;
  /** Whether its vCPUs are paused; unknown (pct) → the recorded status decides. */
  readonly paused?: boolean;
  /** A start was begun for it (a stopped guest then ran and stopped, even if the start crashed before recording it). */
  readonly startedBefore?: boolean;
}

/**
 * The OCI status of a Proxmox guest: running with the recorded process (same pid and start time) →
 * running (or paused); a running guest whose process is not the recorded one was restarted
 * outside nexcage, and the container is stopped; a stopped guest is `created` until its first start
 * (begun, even if the start crashed before recording it).
 */
export function guestProbe(h: Pick<Handle, "status" | "pidStartTime">, g: GuestStatus): Probe {
  if (g.running) {
    if (h.status === "created") return { status: "running", pid: g.pid };
    const start = h.pidStartTime;
    if (start !== undefined && isSameLiveProcess(g.pid, start)) return { status: (g.paused ?? h.status === "paused") ? "paused" : "running", pid: g.pid };
    return { status: "stopped", pid: 0 };
  }
  const notStartedYet = (h.status === "created" || h.status === "creating") && !g.startedBefore;
  return { status: notStartedYet ? "created" : "stopped", pid: 0 };
}

/**
 * The file whose presence says a start was begun for the guest (`<root>/<id>/<name>`), written
 * before `pct|qm start`: a start that crashed before recording the process then reads stopped,
 * not created, once the guest has stopped.
 */
export function startedMarker(h: Pick<Handle, "dir">, name: string): string {
  return join(h.dir, name);
}

/** Runs `start` (`pct|qm start`) with the started marker written first, removed if the start fails. */
export async function startMarked(h: Pick<Handle, "dir">, name: string, start: () => Promise<unknown>): Promise<void> {
  const marker = startedMarker(h, name);
  writeFileSync(marker, "");
  try {
    await start();
  } catch (e) {
    rmSync(marker, { force: true });
    throw e;
  }
}
