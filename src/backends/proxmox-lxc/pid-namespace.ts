import { readdirSync, readlinkSync } from "node:fs";
import { readProcStat } from "../../proc/stat.js";

/** Host pids sharing the pid namespace of `init` (every process of the CT). */
export function processesInPidNamespaceOf(init: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${init}/ns/pid`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns && readProcStat(Number(name))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Host pids whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (/^[0-9]+$/.test(name) && readProcStat(Number(name))?.ppid === pid) out.push(Number(name));
  }
  return out;
}
