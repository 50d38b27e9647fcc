import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { containerCgroupDirs } from "./cgroup-paths.js";
import { sweepCgroups } from "./cgroup-sweep.js";
import type { Handle } from "./contract.js";
import { readCrunStateJson, runsHooks } from "./crun-state.js";
import type { OciRef } from "./probe.js";

/**
 * crun's `delete` of a stopped container (container_delete_internal, crun 1.8): its cgroup is
 * removed (rmdir in each hierarchy, processes left in it killed, retried for up to 5 s), its
 * poststop hooks run, and its state directory is removed. With the cgroupfs driver, no poststop
 * hooks and a pid namespace of its own (so nothing of it outlives its init), that is the cgroup
 * sweep a crashed create's purge already does (cgroup-sweep.ts) and the removal of <root>/<id>,
 * which nexcage does anyway: nexcage does it itself, saving the crun process (about 5 ms of a
 * 20 ms delete, docs/performance.md). e2e/lifecycle.test.ts compares what is left on the host
 * with what crun's own delete leaves.
 */

/** What crun's status file (<state>/<id>/status) says about the container's cgroup. */
interface CrunStatus {
  readonly cgroupPath: string;
  readonly systemd: boolean;
}

/** Pure: the cgroup part of crun's status file, or undefined when it is not one. */
export function parseCrunStatus(doc: unknown): CrunStatus | undefined {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  const path = d["cgroup-path"];
  const systemd = d["systemd-cgroup"];
  const scope = d["scope"];
  if (typeof path !== "string" || (systemd !== undefined && typeof systemd !== "boolean")) return undefined;
  return { cgroupPath: path, systemd: systemd === true || (typeof scope === "string" && scope !== "") };
}

/** Pure: whether crun's delete of this stopped container is no more than its cgroup and its state. */
export function deleteIsCgroupAndState(stateConfig: unknown, status: CrunStatus | undefined): boolean {
  if (status === undefined || status.systemd) return false;
  if (typeof stateConfig !== "object" || stateConfig === null || Array.isArray(stateConfig)) return false;
  if (runsHooks(stateConfig, "poststop")) return false;
  const spec = stateConfig as { linux?: { namespaces?: unknown } };
  const ns = spec.linux?.namespaces;
  return Array.isArray(ns) && ns.some((n) => typeof n === "object" && n !== null && (n as { type?: unknown }).type === "pid" && (n as { path?: unknown }).path === undefined);
}

/**
 * Does crun's delete of a stopped crun container (cgroupfs driver) but the state directory, which
 * the caller removes with <root>/<id>: true when done, false when crun must do it (hooks, a shared
 * pid namespace, systemd, a state it cannot read, or cgroups still busy after the sweep).
 */
export async function deleteStoppedCrunContainer(h: Handle<OciRef>, systemdCgroup: boolean): Promise<boolean> {
  const root: unknown = h.ref.root;
  if (systemdCgroup || typeof root !== "string") return false;
  const stateDir = join(root, h.id);
  if (!existsSync(stateDir)) return true; // crun has nothing of it (its delete would not be called)
  const status = parseCrunStatus(readCrunStateJson(stateDir, "status"));
  if (!deleteIsCgroupAndState(readCrunStateJson(stateDir, "config.json"), status)) return false;
  if (status!.cgroupPath === "") return true;
  const dirs = containerCgroupDirs(readFileSync("/proc/self/mountinfo", "utf8"), readFileSync("/proc/self/cgroup", "utf8"), {
    id: h.id,
    cgroupsPath: status!.cgroupPath,
    base: "root",
  });
  try {
    await sweepCgroups(dirs);
    return true;
  } catch {
    return false; // crun's delete retries and warns on its own
  }
}
