import { existsSync } from "node:fs";
import { join } from "node:path";
import { isSameLiveProcess } from "../proc/stat.js";
import type { ContainerRecord } from "../state/record.js";
import type { Probe } from "./backend.js";

/**
 * Live status of a container whose init is a host process (crun, runc): alive with the recorded
 * start time means the recorded status holds; otherwise it has stopped. Costs one read of /proc,
 * no runtime call, and never trusts a pid that was reused. A record still `created` whose
 * container has started (`startedAlready`: a start that crashed before writing its record) reads
 * `running`.
 */
export function probeInitProcess(rec: ContainerRecord, startedAlready?: () => boolean): Probe {
  const start = rec.nexcage.pidStartTime;
  const alive = rec.pid > 0 && start !== undefined && isSameLiveProcess(rec.pid, start);
  if (!alive) return { status: "stopped", pid: 0 };
  if ((rec.status === "created" || rec.status === "creating") && startedAlready?.()) return { status: "running", pid: rec.pid };
  return { status: rec.status === "creating" ? "created" : rec.status === "stopped" ? "running" : rec.status, pid: rec.pid };
}

/**
 * crun and runc (`rec.nexcage.ref.root` is their state root): the container has started once its
 * exec fifo is gone, whatever nexcage's record says.
 */
export function ociStartedAlready(rec: ContainerRecord): boolean {
  const root = rec.nexcage.ref["root"];
  return typeof root === "string" && !existsSync(join(root, rec.id, "exec.fifo"));
}

/** The live status of a crun or runc container: its init in /proc, its exec fifo for a crashed start. */
export function probeOciContainer(rec: ContainerRecord): Probe {
  return probeInitProcess(rec, () => ociStartedAlready(rec));
}
