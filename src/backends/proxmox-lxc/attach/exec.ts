import { readFileSync } from "node:fs";
import { BackendError, InvalidArgumentError, UnsupportedError } from "../../../errors.js";
import { start } from "../../../exec/run.js";
import { parseSignal } from "../../../oci/signals.js";
import type { ExecRequest, ExitCode } from "../../contract.js";
import { writePidFile } from "../../pid-file.js";
import { CT_ATTACH_DIR, HELPER_FILE, ptyExecArgs } from "./mapping.js";

/** What of a runtime-spec Process (exec --process FILE, or the command line) the CT's exec honours. */
export interface ExecProcess {
  readonly args: readonly string[];
  readonly terminal: boolean;
  /** Set: the process's own environment, user and cwd (the helper applies them); unset: the CT's defaults. */
  readonly as?: { readonly env: readonly string[]; readonly uid: number; readonly gid: number; readonly groups: readonly number[]; readonly cwd: string };
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Pure: the process to run from `exec`'s request and the text of its --process file, if any. */
export function execProcess(req: Pick<ExecRequest, "args" | "tty" | "env" | "cwd" | "user" | "additionalGids">, processJson: string | undefined): ExecProcess {
  if (processJson === undefined) {
    if (req.env.length === 0 && req.cwd === undefined && req.user === undefined && req.additionalGids.length === 0) return { args: req.args, terminal: req.tty };
    const m = /^([0-9]+)(?::([0-9]+))?$/.exec(req.user ?? "0");
    if (!m) throw new InvalidArgumentError(`--user ${JSON.stringify(req.user)}: give uid[:gid] as numbers`);
    const groups = req.additionalGids.map((g) => (/^[0-9]+$/.test(g) ? Number(g) : Number.NaN));
    if (groups.some(Number.isNaN)) throw new InvalidArgumentError("--additional-gids: give numbers");
    const as = { env: req.env, uid: Number(m[1]), gid: Number(m[2] ?? 0), groups, cwd: req.cwd ?? "/" };
    return { args: req.args, terminal: req.tty, as };
  }
  let p: { args?: unknown; terminal?: unknown; env?: unknown; cwd?: unknown; user?: { uid?: unknown; gid?: unknown; additionalGids?: unknown } };
  try {
    p = JSON.parse(processJson) as typeof p;
  } catch (e) {
    throw new InvalidArgumentError(`--process: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(p.args) || p.args.length === 0 || !p.args.every((a) => typeof a === "string")) {
    throw new InvalidArgumentError("--process: args must be a non-empty array of strings");
  }
  const env = p.env ?? [];
  if (!Array.isArray(env) || !env.every((e) => typeof e === "string" && /^[^=]+=/.test(e))) throw new InvalidArgumentError("--process: env must be KEY=VALUE strings");
  const uid = p.user?.uid ?? 0;
  const gid = p.user?.gid ?? 0;
  const groups = p.user?.additionalGids ?? [];
  if (!isCount(uid) || !isCount(gid) || !Array.isArray(groups) || !groups.every(isCount)) throw new InvalidArgumentError("--process: user.uid, gid and additionalGids must be numbers");
  const cwd = p.cwd ?? "/";
  if (typeof cwd !== "string" || !cwd.startsWith("/")) throw new InvalidArgumentError("--process: cwd must be an absolute path");
  return { args: p.args as string[], terminal: p.terminal === true || req.tty, as: { env: env as string[], uid, gid, groups: groups as number[], cwd } };
}

/**
 * Pure: argv and environment of `pct exec` for the process. With `as` (only in an attached CT,
 * which has the helper at /dev/.nexcage/init): the helper sets the process's environment (passed
 * as NEXCAGE_EXEC_ENV_<n> through pct's kept environment, nothing else of it), groups, gid, uid and
 * cwd; else lxc-attach runs it as the CT's root in / with the CT's environment (--keep-env 0).
 */
export function pctExec(vmid: number, proc: ExecProcess, attached: boolean): { args: string[]; env: Record<string, string> } {
  if (proc.as === undefined) return { args: ["exec", String(vmid), "--keep-env", "0", "--", ...proc.args], env: {} };
  if (!attached) throw new UnsupportedError("proxmox-lxc can set an exec's environment, user or cwd only in a CT created with --pid-file (containerd)");
  const { env, uid, gid, groups, cwd } = proc.as;
  const helper = `${CT_ATTACH_DIR}/${HELPER_FILE}`;
  const args = ["exec", String(vmid), "--keep-env", "1", "--", helper, "exec", String(uid), String(gid), groups.join(","), cwd, ...proc.args];
  return { args, env: Object.fromEntries(env.map((e, i) => [`NEXCAGE_EXEC_ENV_${i}`, e])) };
}

/**
 * `pct exec` (lxc-attach) with our stdio, or under the helper's pty (master to the console socket)
 * with -t. The process started here is the one the caller waits for: pct exec's status is the
 * command's. Detached, its pid goes to the pid file and we leave it to the caller's subreaper.
 */
export async function execInCt(pct: string, vmid: number, attached: boolean, helper: string | undefined, req: ExecRequest): Promise<ExitCode> {
  const proc = execProcess(req, req.processFile !== undefined ? readFileSync(req.processFile, "utf8") : undefined);
  const call = pctExec(vmid, proc, attached);
  let file = pct;
  let args = call.args;
  if (proc.terminal) {
    if (req.consoleSocket === undefined || helper === undefined) throw new InvalidArgumentError("exec -t needs --console-socket");
    file = helper;
    args = ptyExecArgs(req.consoleSocket, pct, call.args);
  }
  const running = start(file, args, { stdin: "inherit", output: "inherit", env: { ...process.env, ...call.env } });
  if (running.pid === undefined) {
    const r = await running.done;
    throw new BackendError(`exec failed: cannot run ${file}: ${r.spawnError?.code ?? "failed"}`);
  }
  if (req.pidFile !== undefined) writePidFile(req.pidFile, running.pid);
  if (req.detach) return 0;
  const r = await running.done;
  return r.exitCode ?? 128 + (r.signal !== undefined ? parseSignal(r.signal).number : 0);
}
