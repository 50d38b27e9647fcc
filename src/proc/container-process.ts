import { readFileSync, readlinkSync } from "node:fs";
import { NexcageError } from "../errors.js";
import type { Signal } from "../oci/signals.js";
import { signalProcess } from "./signal.js";

/**
 * Before nexcage signals a pid a record names, it checks that the pid is a container's process:
 * whatever a record says (planted, edited, or stale), nexcage never signals pid 1, itself, or a
 * process in its own cgroup and pid namespace, that is, a host process outside any container.
 */
export interface ProcIdentity {
  /** readlink of /proc/<pid>/ns/pid ("pid:[4026531836]"); undefined when unreadable. */
  readonly pidNs: string | undefined;
  /** The NSpid line of /proc/<pid>/status: the pid in each nested pid namespace, outermost first. */
  readonly nsPids: readonly number[];
  /** The cgroup paths of /proc/<pid>/cgroup, one per hierarchy ("/", "/user.slice/..."). */
  readonly cgroups: readonly string[];
}

/** Pure: the cgroup paths of a /proc/<pid>/cgroup text ("0::/a/b", "4:memory:/a/b"). */
export function parseCgroups(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.split(":").slice(2).join(":"));
}

/** Pure: the pids of the NSpid line of a /proc/<pid>/status text. */
export function parseNsPids(status: string): number[] {
  const line = status.split("\n").find((l) => l.startsWith("NSpid:"));
  return line ? line.slice("NSpid:".length).trim().split(/\s+/).map(Number) : [];
}

/** Pure: a cgroup path names container `id` (crun/runc/containerd: `/<id>`, `.../<x>-<id>.scope`). */
export function cgroupNamesId(path: string, id: string): boolean {
  return path.split("/").some((seg) => seg === id || seg === `${id}.scope` || seg.endsWith(`-${id}.scope`) || seg.endsWith(`:${id}`));
}

/**
 * Pure: why `pid` must not be signalled as a process of container `id`, or undefined when it may:
 * never pid 1 or below, never nexcage itself; the init of a pid namespace other than nexcage's,
 * or a process in a cgroup of its own that names the id.
 */
export function signalTargetProblem(pid: number, id: string, target: ProcIdentity, self: ProcIdentity & { pid: number }): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 1) return `process ${pid} is not a container's`;
  if (pid === self.pid) return `process ${pid} is nexcage itself`;
  const ownPidNs = target.pidNs !== undefined && target.pidNs !== self.pidNs && target.nsPids.length > 1 && target.nsPids[target.nsPids.length - 1] === 1;
  const ownCgroup = target.cgroups.some((c, i) => c !== self.cgroups[i]) && target.cgroups.some((c) => cgroupNamesId(c, id));
  if (ownPidNs || ownCgroup) return undefined;
  return `process ${pid} is neither in a pid namespace nor in a cgroup of container ${id}`;
}

function read(path: string, how: (p: string) => string): string | undefined {
  try {
    return how(path);
  } catch {
    return undefined;
  }
}

/** The live identity of `pid` from /proc (empty parts when it cannot be read). */
export function procIdentity(pid: number | "self"): ProcIdentity {
  return {
    pidNs: read(`/proc/${pid}/ns/pid`, readlinkSync),
    nsPids: parseNsPids(read(`/proc/${pid}/status`, (p) => readFileSync(p, "utf8")) ?? ""),
    cgroups: parseCgroups(read(`/proc/${pid}/cgroup`, (p) => readFileSync(p, "utf8")) ?? ""),
  };
}

/**
 * Sends `signal` to container `id`'s process `pid` after checking it is one (signalTargetProblem):
 * true when sent, false when no such process exists; a refusal is one line.
 */
export function signalContainerProcess(pid: number, id: string, signal: Signal): boolean {
  const target = procIdentity(pid);
  // gone since the caller's check: what kill(2) would have said
  if (target.pidNs === undefined && target.cgroups.length === 0) return false;
  const problem = signalTargetProblem(pid, id, target, { ...procIdentity("self"), pid: process.pid });
  if (problem) throw new NexcageError(`refusing to send ${signal.name}: ${problem}`);
  return signalProcess(pid, signal);
}
