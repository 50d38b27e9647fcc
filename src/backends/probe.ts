import { existsSync } from "node:fs";
import { join } from "node:path";
import { isSameLiveProcess } from "../proc/stat.js";
import type { Handle, Probe } from "./contract.js";

/** What crun and runc keep in the record: their state root (<root>/<id>/<backend>), and which crun driver made it. */
export interface OciRef {
  readonly root: string;
  readonly driver?: "libcrun";
}

/**
 * Live status of a container whose init is a host process: alive with the recorded start time
 * means the recorded status holds; otherwise it has stopped. Costs one read of /proc, no runtime
 * call, and never trusts a pid that was reused. A handle still `created` whose container has
 * started (`startedAlready`: a start that crashed before writing its record) reads `running`.
 */
export function probeInitProcess(h: Handle<object>, startedAlready?: () => boolean): Probe {
  const start = h.pidStartTime;
  const alive = h.pid > 0 && start !== undefined && isSameLiveProcess(h.pid, start);
  if (!alive) return { status: "stopped", pid: 0 };
  if ((h.status === "created" || h.status === "creating") && startedAlready?.()) return { status: "running", pid: h.pid };
  return { status: h.status === "creating" ? "created" : h.status === "stopped" ? "running" : h.status, pid: h.pid };
}

/** crun and runc: the container has started once its exec fifo is gone, whatever nexcage's record says. */
export function ociStartedAlready(h: Handle<OciRef>): boolean {
  const root: unknown = h.ref.root;
  return typeof root === "string" && !existsSync(join(root, h.id, "exec.fifo"));
}

/** The live status of a crun or runc container: its init in /proc, its exec fifo for a crashed start. */
export function probeOciContainer(h: Handle<OciRef>): Probe {
  return probeInitProcess(h, () => ociStartedAlready(h));
}
