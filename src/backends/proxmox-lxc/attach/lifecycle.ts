import { join } from "node:path";
import { readFileSync } from "node:fs";
import type { Signal } from "../../../oci/signals.js";
import { isSameLiveProcess, readProcStat } from "../../../proc/stat.js";
import { BackendError, NotRunningError } from "../../../errors.js";
import type { CreateRequest, Handle, Probe } from "../../contract.js";
import { writePidFile } from "../../pid-file.js";
import { parsePlanSpec } from "../../proxmox/plan-spec.js";
import { crashPoint } from "../../../crash-point.js";
import { childrenOf, processesInPidNamespaceOf } from "../pid-namespace.js";
import type { Plan } from "../plan.js";
import type { NsSysctl } from "../pod.js";
import type { LxcRef } from "../ref.js";
import type { ProxmoxLxcSettings } from "../settings.js";
import { alive, dropAttach, findCtInit, launchProxy, prepareAttachDir, readAttach, setFrozen, writeAttach, type AttachRecord } from "./attached.js";
import { attachDirName, attachedStatus, attachMountLines, caughtSignals, hostOwner, isNamespaceInit, reachesInit } from "./mapping.js";

/**
 * The attached mode's part in each lifecycle step of the proxmox-lxc backend (index.ts calls these):
 * see docs/backends/proxmox-lxc.md, "containerd".
 */

const CHILD_WAIT_MS = 10_000;

/** Whether a create is attached: the caller wants a process to reap (--pid-file) or a terminal (--console-socket). */
export function isAttached(req: Pick<CreateRequest, "pidFileGiven" | "consoleSocket">): boolean {
  return req.pidFileGiven === true || req.consoleSocket !== undefined;
}

/** The attach record of a container, if it was created attached (the ref is read from disk: its shape is checked). */
export function attachOf(h: Handle<LxcRef>): AttachRecord | undefined {
  const a: unknown = h.ref.attach;
  if (typeof a !== "object" || a === null || typeof (a as { dir?: unknown }).dir !== "string") return undefined;
  const p: unknown = (a as { proxy?: unknown }).proxy;
  const proxy = typeof p === "object" && p !== null && typeof (p as { pid?: unknown }).pid === "number" && typeof (p as { startTime?: unknown }).startTime === "string" ? (p as AttachRecord["proxy"]) : undefined;
  const sysctls: unknown = (a as { sysctls?: unknown }).sysctls;
  const valid = Array.isArray(sysctls) && sysctls.every((x: { ns?: unknown; key?: unknown; value?: unknown }) => x.ns === "ipc" && typeof x.key === "string" && typeof x.value === "string");
  return { dir: (a as { dir: string }).dir, ...(proxy !== undefined ? { proxy } : {}), ...(valid ? { sysctls: sysctls as NsSysctl[] } : {}) };
}

/** After `pct create`: records and makes `<runDir>/<vmid>-<digest>` and returns the lxc lines that mount it. */
export function beginAttach(s: ProxmoxLxcSettings, req: CreateRequest, vmid: number): string[] {
  const helper = findCtInit(s.ctInit);
  const dir = join(s.runDir, attachDirName(vmid, req.dir));
  writeAttach(req.dir, { dir });
  crashPoint("proxmox-lxc:attach-recorded");
  prepareAttachDir(s.runDir, dir, helper);
  return attachMountLines(dir);
}

/**
 * Once the CT is configured: the proxy with our stdio and the namespaces the CT's process joins,
 * recorded, and its pid in the caller's pid file.
 */
export async function launchAttached(s: ProxmoxLxcSettings, req: CreateRequest, plan: Pick<Plan, "privileged" | "joins" | "nsSysctls">): Promise<AttachRecord> {
  const a = readAttach(req.dir);
  if (a === undefined) throw new BackendError("internal error: attached create without its record");
  const user = parsePlanSpec(req.bundle.spec).process.user;
  const owner = hostOwner(user?.uid ?? 0, user?.gid ?? 0, !plan.privileged);
  const proxy = await launchProxy(findCtInit(s.ctInit), a.dir, owner, req.consoleSocket, plan.joins);
  const sysctls = plan.nsSysctls.filter((x) => x.ns === "ipc");
  const done: AttachRecord = { ...a, proxy, ...(sysctls.length > 0 ? { sysctls } : {}) };
  writeAttach(req.dir, done);
  crashPoint("proxmox-lxc:proxy-started");
  writePidFile(req.pidFile, proxy.pid);
  return done;
}

/** After `pct start`: the host pid of the container's process, the helper's child (the helper itself if that has already exited). */
export async function attachedProcess(helperPid: number): Promise<number> {
  const deadline = Date.now() + CHILD_WAIT_MS;
  for (;;) {
    const child = childrenOf(helperPid)[0];
    if (child !== undefined) return child;
    if (!readProcStat(helperPid) || Date.now() > deadline) return helperPid;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The live status of an attached CT from `pct status` (running, pid) and what is on this host. */
export function attachedProbe(h: Handle<LxcRef>, a: AttachRecord, ctRunning: boolean, ctPid: number, startedBefore: boolean): Probe {
  const start = h.pidStartTime;
  const processAlive = h.pid > 0 && start !== undefined && isSameLiveProcess(h.pid, start);
  const status = attachedStatus({ recorded: h.status, proxyAlive: alive(a.proxy), ctRunning, processAlive, startedBefore });
  const pid = status === "running" || status === "paused" ? (processAlive ? h.pid : ctPid) : 0;
  return { status, pid };
}

function procStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return "";
  }
}

/**
 * kill: to the container's process as if it were pid 1 of its namespace (reachesInit); with --all
 * also to every other process of the CT but the helper, which exits when its child has.
 */
export function killAttached(h: Handle<LxcRef>, signal: Signal, all: boolean): void {
  const start = h.pidStartTime;
  if (h.pid <= 0 || start === undefined || !isSameLiveProcess(h.pid, start)) throw new NotRunningError();
  const others = all ? processesInPidNamespaceOf(h.pid).filter((p) => p !== h.pid && !isNamespaceInit(procStatus(p))) : [];
  const caught = caughtSignals(procStatus(h.pid)) ?? 0n;
  const targets = reachesInit(signal.number, caught) ? [h.pid, ...others] : others;
  for (const pid of targets) {
    try {
      process.kill(pid, signal.number);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw new BackendError(`kill failed: ${(e as Error).message}`);
    }
  }
  // runc thaws a paused container for SIGKILL, so that it can die
  if (h.status === "paused" && signal.number === 9) void setFrozen(h.pid, false).catch(() => undefined);
}

/**
 * kill of a created (not yet started) attached CT: what runc does to its `runc init`, pid 1 of its
 * namespace without handlers: SIGKILL ends it, so here the proxy standing for the process (the
 * caller sees exit 137); any other signal has no effect.
 */
export function killCreated(a: AttachRecord, signal: Signal): void {
  if (!alive(a.proxy)) throw new NotRunningError();
  if (signal.number !== 9) return;
  try {
    process.kill(a.proxy!.pid, "SIGKILL");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw new BackendError(`kill failed: ${(e as Error).message}`);
  }
}

/** ps: the CT's processes as host pids, the helper (the CT's pid 1, nexcage's own) left out. */
export function attachedPids(h: Handle<LxcRef>): number[] {
  if (h.pid <= 0) return [];
  return processesInPidNamespaceOf(h.pid).filter((p) => !isNamespaceInit(procStatus(p)));
}

/** pause / resume (any CT): the freezer cgroup of its process. */
export async function freezeCt(h: Handle<LxcRef>, frozen: boolean): Promise<void> {
  if (h.pid <= 0) throw new NotRunningError();
  await setFrozen(h.pid, frozen);
}

/** delete / purge: the proxy and the CT's directory on the node. */
export function endAttach(dir: string | undefined): void {
  const a = dir !== undefined ? readAttach(dir) : undefined;
  if (a !== undefined && dir !== undefined) dropAttach(dir, a);
}

/** Before destroying: a frozen CT cannot be stopped (cgroup v1 keeps even SIGKILLed tasks frozen). */
export async function thawIfPaused(h: Handle<LxcRef>): Promise<void> {
  if (h.status === "paused" && h.pid > 0) await setFrozen(h.pid, false).catch(() => undefined);
}
