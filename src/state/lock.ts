import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { errnoText } from "../errno-text.js";
import { withBackoff } from "../backoff.js";
import { ContainerBusyError, NexcageError } from "../errors.js";
import { LOCK_EX, LOCK_NB, LOCK_UN, loadFlock, type Flock } from "../proc/flock.js";
import { checkTrustedPath } from "./trust.js";

/**
 * One lock per (root, container id): flock(2) on `<root>/<id>@lock`. Only who can open that file
 * can hold or block the lock, and the root is root's own, 0700 (src/state/trust.ts), so no other
 * user can (an abstract unix socket, the lock before, had no permissions at all: any local user
 * could bind a container's name first and make root's kill, delete, start wait and fail). The
 * kernel releases a flock when the last descriptor of its open file goes, so a holder killed with
 * SIGKILL frees the lock at once. Calls on one id serialize, also inside one process (each acquire
 * opens the file anew, and flock excludes open files, not processes); calls on other ids do not
 * touch each other.
 *
 * The holder removes the file before it lets go, so the root keeps no lock files; a waiter that
 * then gets the lock of the removed file sees that the path no longer names it and tries again.
 * After a kill -9 the (unlocked) file stays until the next lock of that id.
 *
 * Children: the descriptor is opened close-on-exec, so the tools nexcage runs (crun, runc, pct)
 * never hold it. A fork without exec (libcrun's create) would: the runtime releases the lock around
 * such a create (src/runtime/runtime.ts, `forksCaller`), and its `creating` record stands in.
 */
const LOCK_SUFFIX = "@lock";

/** The lock file of (root, id): `@` is not allowed in ids, so it can never be a container's directory. */
export function lockPath(root: string, id: string): string {
  return join(root, `${id}${LOCK_SUFFIX}`);
}

export interface Lock {
  release(): Promise<void>;
}

// O_CLOEXEC is set on every descriptor node (libuv) and Bun open; O_NOFOLLOW: a symlink planted
// as the lock file is never followed.
const OPEN_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW;

function lockError(path: string, e: unknown): NexcageError {
  return new NexcageError(`cannot create ${path}: ${errnoText(e)}`);
}

/** The root must exist to hold lock files: made 0700 as the store does, or refused when untrusted. */
function ensureRoot(root: string): void {
  // an existing root (every call but the first): one stat, no mkdir
  if (checkTrustedPath(root, "directory", `root ${root}`, true)) return;
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST") throw new NexcageError(`root ${root} is not a directory`);
    throw new NexcageError(`cannot create root ${root}: ${errnoText(e)}`);
  }
  checkTrustedPath(root, "directory", `root ${root}`, true);
}

/** One try: the descriptor holding the lock of `path`, or undefined when another holds it. */
function tryLock(flock: Flock, path: string): number | undefined {
  for (;;) {
    let fd: number;
    try {
      fd = openSync(path, OPEN_FLAGS, 0o600);
    } catch (e) {
      throw lockError(path, e);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd);
      return undefined;
    }
    // the holder before us may have removed the file we locked: then the lock is the new file's
    let current: { ino: number; dev: number } | undefined;
    try {
      current = lstatSync(path);
    } catch {
      current = undefined;
    }
    const mine = fstatSync(fd);
    if (current && current.ino === mine.ino && current.dev === mine.dev) return fd;
    closeSync(fd);
  }
}

function holding(flock: Flock, path: string, fd: number): Lock {
  let held = true;
  return {
    release: async () => {
      if (!held) return;
      held = false;
      try {
        unlinkSync(path);
      } catch {
        // a read-only root after all: the file stays, unlocked
      }
      flock(fd, LOCK_UN);
      closeSync(fd);
    },
  };
}

export async function acquireLock(root: string, id: string, timeoutMs: number): Promise<Lock> {
  const flock = await loadFlock();
  ensureRoot(root);
  const path = lockPath(root, id);
  const fd = await withBackoff(timeoutMs, async () => tryLock(flock, path), () => new ContainerBusyError(id));
  return holding(flock, path, fd);
}
