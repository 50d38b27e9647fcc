import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BackendError } from "../../../errors.js";
import { run, start } from "../../../exec/run.js";
import { firstExisting, nativeDirs, SINGLE_BINARY } from "../../../install/layout.js";
import { isSameLiveProcess, readProcStat } from "../../../proc/stat.js";
import type { NamespaceJoin, NsSysctl } from "../pod.js";
import { HELPER_FILE, proxyArgs, SOCKET_FILE, sysctlArgs } from "./mapping.js";

/**
 * The side effects of the attached mode: the per-CT directory, the proxy left behind for the
 * caller to reap, and the record of both in the container's directory (so a crash at any step can
 * be cleaned up from the id alone).
 */

/** `<root>/<id>/<ATTACH_FILE>`: the CT's directory on the node, then the proxy once it runs. */
const ATTACH_FILE = "proxmox-lxc.attach.json";
export const CT_INIT_FILE = "nexcage-ct-init";
const PROXY_READY_MS = 10_000;

export interface LiveProcess {
  readonly pid: number;
  readonly startTime: string;
}

export interface AttachRecord {
  /** `<runDir>/<vmid>-<digest>`. */
  readonly dir: string;
  readonly proxy?: LiveProcess;
  /** Sysctls of the CT's own IPC namespace, set at start (a privileged CT: see Plan.nsSysctls). */
  readonly sysctls?: readonly NsSysctl[];
}

export function readAttach(containerDir: string): AttachRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(containerDir, ATTACH_FILE), "utf8")) as AttachRecord;
  } catch {
    return undefined;
  }
}

export function writeAttach(containerDir: string, a: AttachRecord): void {
  writeFileSync(join(containerDir, ATTACH_FILE), JSON.stringify(a));
}

/** The helper binary: the configured path, else the package's, else the one beside the single binary or this checkout's build. */
export function findCtInit(configured: string | undefined): string {
  if (configured !== undefined) {
    if (!existsSync(configured)) throw new BackendError(`backends."proxmox-lxc".ctInit ${configured} does not exist`);
    return configured;
  }
  const checkout = SINGLE_BINARY ? undefined : fileURLToPath(new URL("../build/ct-init", import.meta.url));
  const dirs = nativeDirs(SINGLE_BINARY, process.execPath, checkout);
  const found = firstExisting(dirs, CT_INIT_FILE, existsSync);
  if (found === undefined) throw new BackendError(`no ${CT_INIT_FILE} in ${dirs.join(" or ")} (build it with packaging/ct-init/build.sh)`);
  return found;
}

/** Makes `<runDir>/<vmid>-<digest>` (root's, searchable, not listable) with the helper in it, read-only. */
export function prepareAttachDir(runDir: string, dir: string, helper: string): void {
  mkdirSync(runDir, { recursive: true, mode: 0o711 });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o711 });
  chmodSync(dir, 0o711);
  copyFileSync(helper, join(dir, HELPER_FILE));
  chmodSync(join(dir, HELPER_FILE), 0o555);
}

/**
 * Starts the proxy with our stdio (the caller's fifos or pipes) and waits until its socket is
 * there, then gives the socket to the CT process's host owner. The proxy is our child and is left
 * behind: when we exit, the caller's subreaper (containerd's shim) becomes its parent and reaps it.
 */
export async function launchProxy(helper: string, dir: string, owner: { uid: number; gid: number }, consoleSocket: string | undefined, joins: readonly NamespaceJoin[]): Promise<LiveProcess> {
  const socket = join(dir, SOCKET_FILE);
  // With a terminal the pty is the process's stdio, and our stdout is a pipe the shim reads to its
  // end (go-runc's create without IO): the proxy must not hold it then.
  const stdio = consoleSocket === undefined ? ({ stdin: "inherit", output: "inherit" } as const) : {};
  const running = start(helper, proxyArgs(socket, consoleSocket, joins), stdio);
  let exited: string | undefined;
  void running.done.then((r) => {
    exited = r.spawnError ? r.spawnError.message : r.signal ? `killed by ${r.signal}` : r.stderr || `exit status ${r.exitCode}`;
  });
  const deadline = Date.now() + PROXY_READY_MS;
  while (!existsSync(socket)) {
    if (exited !== undefined) throw new BackendError(`the stdio proxy ${helper} failed (${exited})`);
    if (Date.now() > deadline) {
      running.kill("SIGKILL");
      throw new BackendError(`the stdio proxy ${helper} did not come up within ${PROXY_READY_MS / 1000}s`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  chownSync(socket, owner.uid, owner.gid);
  // captured output (terminal mode) ends at nexcage's exit; the proxy then writes to nothing
  const stat = running.pid !== undefined ? readProcStat(running.pid) : undefined;
  if (running.pid === undefined || stat === undefined) throw new BackendError(`the stdio proxy ${helper} exited at once`);
  return { pid: running.pid, startTime: stat.startTime };
}

/** Sets sysctls of one namespace type in the namespace at `nsPath`, from the host. */
export async function setSysctls(sysctls: readonly NsSysctl[], ns: NsSysctl["ns"], nsPath: string, timeoutMs: number): Promise<void> {
  for (const s of sysctls.filter((x) => x.ns === ns)) {
    const r = await run("nsenter", sysctlArgs(s, nsPath), { timeoutMs });
    if (r.exitCode !== 0) throw new BackendError(`linux.sysctl ${s.key}: ${r.spawnError?.message ?? (r.stderr.trim() || `nsenter exit status ${r.exitCode ?? r.signal}`)}`);
  }
}

export function alive(p: LiveProcess | undefined): boolean {
  return p !== undefined && isSameLiveProcess(p.pid, p.startTime);
}

/** Ends the proxy (if it is still the recorded process) and removes the CT's directory and the record. */
export function dropAttach(containerDir: string, a: AttachRecord): void {
  if (a.proxy !== undefined && alive(a.proxy)) {
    try {
      process.kill(a.proxy.pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  rmSync(a.dir, { recursive: true, force: true });
  rmSync(join(containerDir, ATTACH_FILE), { force: true });
}

/** Freezes or thaws the cgroup `pid` is in (cgroup v1 freezer, else cgroup v2), as lxc-freeze does. */
export async function setFrozen(pid: number, frozen: boolean): Promise<void> {
  let lines: string[];
  try {
    lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
  } catch {
    throw new BackendError("container not running");
  }
  const v1 = lines.map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).find((m) => m && m[1]!.split(",").includes("freezer"));
  if (v1) {
    const file = join("/sys/fs/cgroup/freezer", v1[2]!, "freezer.state");
    writeFileSync(file, frozen ? "FROZEN" : "THAWED");
    for (let i = 0; i < 500 && frozen && readFileSync(file, "utf8").trim() !== "FROZEN"; i++) await new Promise((r) => setTimeout(r, 10));
    return;
  }
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)).find((m) => m);
  const mount = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")).find((f) => f[2] === "cgroup2")?.[1];
  if (!v2 || mount === undefined || !statSync(join(mount, v2[1]!)).isDirectory()) throw new BackendError("no freezer cgroup for the container");
  writeFileSync(join(mount, v2[1]!, "cgroup.freeze"), frozen ? "1" : "0");
}
