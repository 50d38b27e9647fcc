import { run } from "../../exec/run.js";
import type { Logger } from "../../log.js";

export interface ToolCall {
  /** For the debug log: "proxmox-lxc", "proxmox-vm". */
  readonly backend: string;
  readonly name: string;
  readonly file: string;
  readonly timeoutMs: number;
  readonly log: Logger;
}

/**
 * Runs a Proxmox CLI (pct, qm, pvesh) with an argv, never a shell. A failure becomes whatever
 * `mapError` makes of the stderr text (Proxmox's exit codes say little).
 */
export async function runTool(call: ToolCall, args: readonly string[], mapError: (stderr: string, exitCode: number | undefined) => Error): Promise<string> {
  call.log.debug({ argv: [call.file, ...args] }, `${call.backend}: ${call.name} ${args[0] ?? ""}`);
  const r = await run(call.file, args, { timeoutMs: call.timeoutMs });
  if (r.exitCode === 0) return r.stdout;
  if (r.timedOut) throw mapError(`${call.name} did not answer within ${call.timeoutMs / 1000}s`, undefined);
  if (r.exitCode === undefined) throw mapError(`cannot run ${call.file}: ${r.spawnError?.code ?? r.signal ?? "failed"}`, undefined);
  call.log.debug({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode }, `${call.backend}: ${call.name} failed`);
  throw mapError(String(r.stderr), r.exitCode);
}
