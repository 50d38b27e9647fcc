import type { Logger } from "../../log.js";
import { runTool } from "../proxmox/run-tool.js";
import { qmError, type QmContext } from "./qm-errors.js";

export interface QmTools {
  readonly qm: string;
  readonly pvesh: string;
  readonly timeoutMs: number;
  readonly log: Logger;
}

/** Runs qm or pvesh with an argv (never a shell); a failure becomes a typed QmError. */
export function runQm(tools: QmTools, which: "qm" | "pvesh", args: readonly string[], what: string, context: QmContext = {}, timeoutMs = tools.timeoutMs): Promise<string> {
  const file = which === "qm" ? tools.qm : tools.pvesh;
  return runTool({ backend: "proxmox-vm", name: which, file, timeoutMs, log: tools.log }, args, (stderr, code) => qmError(what, stderr, code, context));
}
