import { closeSync, constants, fchmodSync, fstatSync, openSync } from "node:fs";

/**
 * Makes sure `path` exists as a file only its owner can read (0600), before a tool that would
 * create it with its own mode writes there: crun and runc create their --log file 0644 (umask
 * permitting), and their error lines may quote a container's argv or environment. A symlink is not
 * followed. Failures are left to the tool, which reports its own (a full or read-only root).
 */
export function ensurePrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch {
    return;
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && (st.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } catch {
    // the tool reports what it cannot do with the file
  } finally {
    closeSync(fd);
  }
}
