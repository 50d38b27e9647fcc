import { BackendError, InvalidArgumentError, UnsupportedError } from "../../errors.js";
import type { ExecRequest } from "../contract.js";
import { SERVICE_NAME } from "./unit.js";

/** The process `exec` runs in the guest: the container's process settings with exec's overrides, as runc merges them. */
export interface GuestProcess {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly user?: { readonly uid: number; readonly gid: number; readonly additionalGids: readonly number[] };
  readonly noNewPrivileges: boolean;
}

/** The parts of an OCI process exec reads (from config.json's process or --process). */
export interface ProcessDefaults {
  readonly args?: readonly string[];
  readonly env?: readonly string[];
  readonly cwd?: string;
  readonly user?: { readonly uid?: number; readonly gid?: number; readonly additionalGids?: readonly number[] };
}

/** What `qm guest exec` cannot carry into a guest: refused, never dropped. */
export function execRefusals(req: ExecRequest): string[] {
  const out: string[] = [];
  if (req.tty || req.consoleSocket !== undefined) out.push("--tty (the guest agent has no terminal)");
  if (req.preserveFds > 0) out.push("--preserve-fds (host descriptors do not reach a VM)");
  if (req.caps.length > 0) out.push("--cap");
  if (req.processLabel !== undefined) out.push("--process-label");
  if (req.apparmor !== undefined) out.push("--apparmor");
  if (req.cgroup !== undefined) out.push("--cgroup");
  return out;
}

/** `uid[:gid]` as runc's --user takes it. */
function parseUser(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`exec --user ${JSON.stringify(text)}: the proxmox-vm backend takes uid[:gid]`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

/**
 * Pure: the guest process of an exec. --process replaces the container's process (as in runc);
 * otherwise args come from the command line and env is the container's plus --env, cwd and user
 * the container's unless given.
 */
export function execProcess(container: ProcessDefaults, req: ExecRequest, processFile?: ProcessDefaults): GuestProcess {
  const base = processFile ?? container;
  const args = processFile ? (processFile.args ?? []) : req.args;
  if (args.length === 0) throw new InvalidArgumentError("exec needs a command");
  const u = req.user !== undefined ? { ...parseUser(req.user), additionalGids: [] as number[] } : base.user?.uid !== undefined ? { uid: base.user.uid, gid: base.user.gid ?? 0, additionalGids: base.user.additionalGids ?? [] } : undefined;
  const extraGids = req.additionalGids.map((g) => {
    if (!/^\d+$/.test(g)) throw new InvalidArgumentError(`exec --additional-gids ${JSON.stringify(g)} is not a number`);
    return Number(g);
  });
  const user = u === undefined ? undefined : { ...u, additionalGids: [...u.additionalGids, ...extraGids] };
  return { args, env: [...(base.env ?? []), ...req.env], cwd: req.cwd ?? base.cwd ?? "/", user, noNewPrivileges: req.noNewPrivs };
}

/**
 * Pure: the argv `qm guest exec` runs, which takes only a program and its arguments: coreutils'
 * env sets the environment and directory (`-i`: nothing of the agent's own), util-linux's setpriv
 * the user and groups.
 */
export function guestArgv(p: GuestProcess): string[] {
  const env = ["/usr/bin/env", "-i", "-C", p.cwd, "--", ...p.env, ...p.args];
  const priv: string[] = [];
  if (p.user !== undefined) {
    priv.push(`--reuid=${p.user.uid}`, `--regid=${p.user.gid}`, p.user.additionalGids.length > 0 ? `--groups=${p.user.additionalGids.join(",")}` : "--clear-groups");
  }
  if (p.noNewPrivileges) priv.push("--no-new-privs");
  return priv.length > 0 ? ["/usr/bin/setpriv", ...priv, "--", ...env] : env;
}

/** `qm guest exec` started asynchronously: the guest pid to poll. */
export function qmGuestExecArgs(vmid: number, argv: readonly string[]): string[] {
  return ["guest", "exec", String(vmid), "--synchronous", "0", "--", ...argv];
}

/** What `qm guest exec-status` prints (Proxmox decodes the output; booleans as 1/0). */
export interface ExecStatus {
  readonly exited: boolean;
  readonly exitcode?: number;
  readonly signal?: number;
  readonly out: string;
  readonly err: string;
}

function json(stdout: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(stdout) as unknown;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // below
  }
  throw new BackendError(`${what}: qm printed no JSON object`);
}

/** Pure: the guest pid `qm guest exec --synchronous 0` prints. */
export function parseExecPid(stdout: string): number {
  const pid = json(stdout, "exec failed")["pid"];
  if (!Number.isInteger(pid)) throw new BackendError("exec failed: qm printed no guest pid");
  return pid as number;
}

/** Pure: `qm guest exec-status` output. */
export function parseExecStatus(stdout: string): ExecStatus {
  const o = json(stdout, "exec failed");
  const num = (k: string) => (Number.isInteger(o[k]) ? (o[k] as number) : undefined);
  const text = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : "");
  return { exited: o["exited"] === 1 || o["exited"] === true, exitcode: num("exitcode"), signal: num("signal"), out: text("out-data"), err: text("err-data") };
}

/**
 * Pure: the exec's result as a shell (and runc) reports it. A program env could not find is the
 * error crun gives for one (exit 127), not a process that ran.
 */
export function execResult(s: ExecStatus): number {
  // coreutils quotes the name with ‘…’ in a UTF-8 locale, '…' in C
  const missing = /^(?:\/usr\/bin\/)?env: ['‘]([^'’\n]*)['’]: No such file or directory\n?$/.exec(s.err);
  if (s.exitcode === 127 && missing) throw new BackendError(`exec failed: executable file \`${missing[1]}\` not found in the guest: No such file or directory`, 127);
  if (s.signal !== undefined) return 128 + s.signal;
  return s.exitcode ?? 0;
}

/** `ps`: the service's cgroup in the guest (cgroup v2, systemd's unified layout). */
export const PS_ARGV = ["/bin/cat", `/sys/fs/cgroup/system.slice/${SERVICE_NAME}/cgroup.procs`] as const;

/** Pure: guest pids from the cgroup.procs text. */
export function parsePids(out: string): number[] {
  return out.split("\n").filter((l) => l.trim() !== "").map((l) => {
    if (!/^\d+$/.test(l.trim())) throw new BackendError(`ps failed: unexpected line ${JSON.stringify(l)} in the guest's cgroup.procs`);
    return Number(l.trim());
  });
}

/** Unsupported options, as one error. */
export function refuseExec(req: ExecRequest): void {
  const r = execRefusals(req);
  if (r.length > 0) throw new UnsupportedError(`the proxmox-vm backend cannot honour exec ${r.join(", ")}`);
}
