import { run } from "../../exec/run.js";
import type { Logger } from "../../log.js";
import { pctError } from "./pct-errors.js";

export interface PveTools {
  readonly pct: string;
  readonly pvesh: string;
  readonly timeoutMs: number;
  readonly log: Logger;
}

/** Runs pct or pvesh with an argv (never a shell); a failure becomes a typed PctError. */
export async function runPve(tools: PveTools, which: "pct" | "pvesh", args: readonly string[], what: string, vmid?: number): Promise<string> {
  const file = which === "pct" ? tools.pct : tools.pvesh;
  tools.log.debug({ argv: [file, ...args] }, `proxmox-lxc: ${which} ${args[0] ?? ""}`);
  const r = await run(file, args, { timeoutMs: tools.timeoutMs });
  if (r.exitCode === 0) return r.stdout;
  if (r.timedOut) throw pctError(what, `${which} did not answer within ${tools.timeoutMs / 1000}s`, undefined, vmid);
  if (r.exitCode === undefined) throw pctError(what, `cannot run ${file}: ${r.spawnError?.code ?? r.signal ?? "failed"}`, undefined, vmid);
  tools.log.debug({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode }, `proxmox-lxc: ${which} failed`);
  throw pctError(what, String(r.stderr), r.exitCode, vmid);
}

export { parseNextId, parseStatus } from "../proxmox/pve-output.js";
