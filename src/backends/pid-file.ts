import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { BackendError } from "../errors.js";

/** A pid file as runc and crun write it: decimal digits, no newline required. */
export function parsePid(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[0-9]+$/.test(trimmed)) return undefined;
  const pid = Number(trimmed);
  return pid > 0 && pid <= 4_194_304 ? pid : undefined;
}

export function readPidFile(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new BackendError(`cannot read pid file ${path}: ${(e as Error).message}`);
  }
  const pid = parsePid(text);
  if (pid === undefined) throw new BackendError(`pid file ${path} holds no pid`);
  return pid;
}

/** Polls for a pid file until it holds a pid, or `gaveUp()` says the writer is gone. */
export async function waitForPidFile(path: string, gaveUp: () => boolean): Promise<number | undefined> {
  for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
    try {
      const pid = parsePid(readFileSync(path, "utf8"));
      if (pid !== undefined) return pid;
    } catch {
      // not written yet
    }
    if (gaveUp()) return undefined;
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Writes a pid file as runc does: the decimal pid, no newline, via a temporary file and a rename. */
export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, String(pid), { mode: 0o644 });
  renameSync(tmp, path);
}
