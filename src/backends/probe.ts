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
