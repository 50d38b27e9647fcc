import { readFileSync } from "node:fs";
import { BackendError, InvalidArgumentError } from "../../../errors.js";
import { start } from "../../../exec/run.js";
import { parseSignal } from "../../../oci/signals.js";
import type { ExecRequest, ExitCode } from "../../backend.js";
import { writePidFile } from "../../pid-file.js";
import { ptyExecArgs } from "./mapping.js";

/** What of a runtime-spec Process (exec --process FILE) the CT's exec honours. */
export interface ExecProcess {
  readonly args: readonly string[];
  readonly terminal: boolean;
}

/** Pure: the process to run from `exec`'s request and the text of its --process file, if any. */
export function execProcess(req: Pick<ExecRequest, "args" | "tty">, processJson: string | undefined): ExecProcess {
  if (processJson === undefined) return { args: req.args, terminal: req.tty };
  let p: { args?: unknown; terminal?: unknown };
  try {
    p = JSON.parse(processJson) as typeof p;
  } catch (e) {
    throw new InvalidArgumentError(`--process: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(p.args) || p.args.length === 0 || !p.args.every((a) => typeof a === "string")) {
    throw new InvalidArgumentError("--process: args must be a non-empty array of strings");
  }
  return { args: p.args as string[], terminal: p.terminal === true || req.tty };
}

/**
 * `pct exec <vmid> --keep-env 0 -- args` (lxc-attach) with our stdio, or under the helper's pty
 * (master to the console socket) with -t. The process started here is the one the caller waits
 * for: pct exec's status is the command's. Detached, its pid goes to the pid file and we leave it
 * to the caller's subreaper.
 */
export async function execInCt(pct: string, vmid: number, helper: string | undefined, req: ExecRequest): Promise<ExitCode> {
  const proc = execProcess(req, req.processFile !== undefined ? readFileSync(req.processFile, "utf8") : undefined);
  const pctArgs = ["exec", String(vmid), "--keep-env", "0", "--", ...proc.args];
  let file = pct;
  let args = pctArgs;
  if (proc.terminal) {
    if (req.consoleSocket === undefined || helper === undefined) throw new InvalidArgumentError("exec -t needs --console-socket");
    file = helper;
    args = ptyExecArgs(req.consoleSocket, pct, pctArgs);
  }
  const running = start(file, args, { stdin: "inherit", output: "inherit" });
  if (running.pid === undefined) {
    const r = await running.done;
    throw new BackendError(`exec failed: cannot run ${file}: ${r.spawnError?.code ?? "failed"}`);
  }
  if (req.pidFile !== undefined) writePidFile(req.pidFile, running.pid);
  if (req.detach) return 0;
  const r = await running.done;
  return r.exitCode ?? 128 + (r.signal !== undefined ? parseSignal(r.signal).number : 0);
}
