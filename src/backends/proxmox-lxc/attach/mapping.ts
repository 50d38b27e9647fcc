import type { Status } from "../../../names.js";
import type { NamespaceJoin, NsSysctl } from "../pod.js";
import { dirDigest } from "./dir-digest.js";

/**
 * Pure mappings of the attached mode (docs/backends/proxmox-lxc.md, "containerd"): a CT whose process
 * the caller reaps through a proxy, with its stdio handed over by the init helper nexcage-ct-init.
 */

/** Where the per-CT directory `<runDir>/<vmid>-<digest>` appears inside the CT (autodev's /dev: nothing lands in the rootfs). */
export const CT_ATTACH_DIR = "/dev/.nexcage";
/** The helper and the socket, in that directory (on the host and in the CT alike). */
export const HELPER_FILE = "init";
export const SOCKET_FILE = "sock";

/**
 * Pure: the name of a CT's directory under runDir: its VMID and a digest of the container's own
 * directory, so that a VMID given to another container after ours was destroyed never names the
 * same directory (the digest keeps the socket path short: unix socket paths end at 107 bytes).
 */
export function attachDirName(vmid: number, containerDir: string): string {
  return `${vmid}-${dirDigest(containerDir)}`;
}

/** Proxmox's fixed id map of unprivileged CTs: CT id 0 is host id 100000, 65536 ids. */
const UNPRIVILEGED_BASE = 100_000;
const UNPRIVILEGED_SIZE = 65_536;

/**
 * Pure: the host uid/gid of the CT's process (its socket is given to that owner, since the process
 * opens it as itself): shifted by Proxmox's map in an unprivileged CT, as is in a privileged one.
 */
export function hostOwner(uid: number, gid: number, unprivileged: boolean): { uid: number; gid: number } {
  if (!unprivileged) return { uid, gid };
  if (uid >= UNPRIVILEGED_SIZE || gid >= UNPRIVILEGED_SIZE) {
    throw new RangeError(`uid ${uid} / gid ${gid} is outside the 65536 ids an unprivileged Proxmox CT maps`);
  }
  return { uid: UNPRIVILEGED_BASE + uid, gid: UNPRIVILEGED_BASE + gid };
}

/**
 * Pure: the raw lxc lines that put `<runDir>/<vmid>-<digest>` into the CT at /dev/.nexcage (the directory is
 * root's, so the CT cannot add to it) and the helper on top of itself read-only.
 */
export function attachMountLines(hostDir: string): string[] {
  const rel = CT_ATTACH_DIR.replace(/^\/+/, "");
  return [
    `lxc.mount.entry: ${hostDir} ${rel} none bind,create=dir 0 0`,
    `lxc.mount.entry: ${hostDir}/${HELPER_FILE} ${rel}/${HELPER_FILE} none bind,ro,create=file 0 0`,
  ];
}

/** The user the helper gives its child (when the helper itself must stay root: to join namespaces). */
export interface InitUser {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

/**
 * Pure: the CT's init command: the helper, which runs `args` as its child with the handed-over
 * stdio (as `user`, when given: `-u UID GID GROUPS`, "-" for no groups).
 */
export function initArgs(args: readonly string[], user?: InitUser): string[] {
  const as = user !== undefined ? ["-u", String(user.uid), String(user.gid), user.groups.length > 0 ? user.groups.join(",") : "-"] : [];
  return [`${CT_ATTACH_DIR}/${HELPER_FILE}`, "init", ...as, `${CT_ATTACH_DIR}/${SOCKET_FILE}`, ...args];
}

const NS_WORD: Readonly<Record<NamespaceJoin["type"], string>> = { network: "net", ipc: "ipc", uts: "uts" };

/**
 * Pure: the proxy's argv (after the helper's path): the namespaces it opens at once and hands to
 * the CT's init with the stdio; with a console socket it makes a pty and sends the master there.
 */
export function proxyArgs(socket: string, consoleSocket: string | undefined, joins: readonly NamespaceJoin[] = []): string[] {
  return ["proxy", ...joins.flatMap((j) => ["-n", `${NS_WORD[j.type]}=${j.path}`]), socket, ...(consoleSocket !== undefined ? [consoleSocket] : [])];
}

/** Pure: argv of `nsenter` that sets one sysctl in a namespace given by path (the pod's network, the CT's IPC). */
export function sysctlArgs(s: NsSysctl, nsPath: string): string[] {
  return [`--${s.ns}=${nsPath}`, "--", "sysctl", "-q", "-w", `${s.key}=${s.value}`];
}

/** Pure: argv for `exec -t`: the helper makes the pty (master to the console socket) and becomes `program args`. */
export function ptyExecArgs(consoleSocket: string, program: string, args: readonly string[]): string[] {
  return ["pty", consoleSocket, program, ...args];
}

export interface AttachedFacts {
  /** The status the record holds. */
  readonly recorded: Status;
  /** The proxy the caller reaps is alive: once it is gone, the caller has seen the container exit. */
  readonly proxyAlive: boolean;
  /** `pct status` says running. */
  readonly ctRunning: boolean;
  /** The recorded process (pid and start time) still lives. */
  readonly processAlive: boolean;
  /** A start was begun (its marker file exists). */
  readonly startedBefore: boolean;
}

/**
 * Pure: the OCI status of an attached CT. What the caller (containerd) sees decides: the container
 * has stopped when the proxy standing for its process has exited, whatever the CT does; otherwise as
 * for any CT: running while the recorded process lives, created until the first start.
 */
export function attachedStatus(f: AttachedFacts): Status {
  if (!f.proxyAlive) return "stopped";
  if (f.recorded === "created" || f.recorded === "creating") {
    if (f.ctRunning) return "running"; // a start that crashed before recording the process
    return f.startedBefore ? "stopped" : f.recorded;
  }
  if (f.ctRunning && f.processAlive) return f.recorded === "paused" ? "paused" : "running";
  return "stopped";
}

/** Pure: the caught-signal mask (SigCgt) from the text of /proc/<pid>/status; undefined when absent. */
export function caughtSignals(statusText: string): bigint | undefined {
  const m = /^SigCgt:\s*([0-9a-fA-F]+)$/m.exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** Pure: whether /proc/<pid>/status says the process is pid 1 of its innermost pid namespace (NSpid's last field). */
export function isNamespaceInit(statusText: string): boolean {
  const m = /^NSpid:\s*(.+)$/m.exec(statusText);
  return m !== null && m[1]!.trim().split(/\s+/).at(-1) === "1";
}

const SIGKILL = 9;
const SIGSTOP = 19;

/**
 * Pure: whether a signal sent from the host reaches the container's process as it would reach it as
 * pid 1 of its own namespace under runc: the kernel delivers SIGKILL and SIGSTOP, and any other
 * signal only if the process has a handler for it. Here the process is the helper's child, so this
 * rule is applied before signalling it.
 */
export function reachesInit(signal: number, caught: bigint): boolean {
  if (signal === SIGKILL || signal === SIGSTOP) return true;
  return ((caught >> BigInt(signal - 1)) & 1n) === 1n;
}
