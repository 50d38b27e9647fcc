import { run } from "../../exec/run.js";
import type { Logger } from "../../log.js";
import { qmError, type QmContext } from "./qm-errors.js";

export interface QmTools {
  readonly qm: string;
  readonly pvesh: string;
  readonly timeoutMs: number;
  readonly log: Logger;
}

/** Runs qm or pvesh with an argv (never a shell); a failure becomes a typed QmError. */
export async function runQm(tools: QmTools, which: "qm" | "pvesh", args: readonly string[], what: string, context: QmContext = {}, timeoutMs = tools.timeoutMs): Promise<string> {
  const file = which === "qm" ? tools.qm : tools.pvesh;
  tools.log.debug({ argv: [file, ...args] }, `proxmox-vm: ${which} ${args[0] ?? ""}`);
  const r = await run(file, args, { timeoutMs });
  if (r.exitCode === 0) return r.stdout;
  if (r.timedOut) throw qmError(what, `${which} did not answer within ${timeoutMs / 1000}s`, undefined, context);
  if (r.exitCode === undefined) throw qmError(what, `cannot run ${file}: ${r.spawnError?.code ?? r.signal ?? "failed"}`, undefined, context);
  tools.log.debug({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode }, `proxmox-vm: ${which} failed`);
  throw qmError(what, String(r.stderr), r.exitCode, context);
}
