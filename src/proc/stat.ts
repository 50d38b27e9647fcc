import { readFileSync } from "node:fs";

export interface ProcStat {
  /** One-letter state from /proc/<pid>/stat: R, S, D, Z, T, t, X, I ... */
  readonly state: string;
  readonly ppid: number;
  /** Field 22: start time in clock ticks since boot; with the pid it names one process for good. */
  readonly startTime: string;
}

/** Parses the text of /proc/<pid>/stat (the comm field may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state); field 22 is fields[19].
  const state = fields[0];
  const ppid = fields[1];
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || startTime === undefined) return undefined;
  return { state, ppid: Number(ppid), startTime };
}

/** The live /proc/<pid>/stat, or undefined when no such process exists. */
export function readProcStat(pid: number): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/**
 * True when `pid` is the very process that was recorded (same start time) and it has not exited.
 * A zombie or a dead process is not alive; a reused pid (other start time) is not ours.
 */
export function isSameLiveProcess(pid: number, startTime: string): boolean {
  const stat = readProcStat(pid);
  if (!stat) return false;
  if (stat.state === "Z" || stat.state === "X") return false;
  return stat.startTime === startTime;
}
