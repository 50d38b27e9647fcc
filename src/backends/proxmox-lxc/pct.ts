import type { Logger } from "../../log.js";
import { runTool } from "../proxmox/run-tool.js";
import { pctError } from "./pct-errors.js";

export interface PveTools {
  readonly pct: string;
  readonly pvesh: string;
  readonly timeoutMs: number;
  readonly log: Logger;
}

/** Runs pct or pvesh with an argv (never a shell); a failure becomes a typed PctError. */
export function runPve(tools: PveTools, which: "pct" | "pvesh", args: readonly string[], what: string, vmid?: number): Promise<string> {
  const file = which === "pct" ? tools.pct : tools.pvesh;
  return runTool({ backend: "proxmox-lxc", name: which, file, timeoutMs: tools.timeoutMs, log: tools.log }, args, (stderr, code) => pctError(what, stderr, code, vmid));
}
