// @ts-check
// PVE::Tools::lock_file_full with real flock(2) semantics.
//
// Node has no flock(), so the lock file is opened here and util-linux `flock -x <fd>` is spawned
// (argv array, no shell) with that descriptor inherited as fd 3. flock(2) locks belong to the
// open file description, which the child shares with us: the lock stays held after the helper
// exits, for as long as this process keeps the descriptor open, and is released by closing it
// (or by our exit/crash). Hence it interoperates with any other flock user of the same file
// (`flock /run/lock/lxc/pve-config-100.lock ...`, a real PVE, another pct process).
import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { die, state, warn } from "./io.mjs";
import { mkdirp } from "./env.mjs";

/** files this process already holds (PVE's lock_file_full is re-entrant per process) */
const held = new Set();

function flockFd(fd, extra) {
  const r = spawnSync("flock", ["-x", ...extra, "3"], { stdio: ["ignore", "ignore", "pipe", fd], encoding: "utf8" });
  if (r.error) throw die(`can't run flock - ${r.error.message}`);
  return r.status;
}

/**
 * @template T
 * @param {string} filename
 * @param {number} timeout  seconds
 * @param {() => Promise<T>} code
 * @returns {Promise<T>}
 */
export async function lockFileFull(filename, timeout, code) {
  if (held.has(filename)) return code();
  mkdirp(dirname(filename));
  let fd;
  try {
    fd = openSync(filename, "a");
  } catch (e) {
    throw die(`can't lock file '${filename}' - can't open file - ${/** @type {Error} */ (e).message}`);
  }
  try {
    if (flockFd(fd, ["-n"]) !== 0) {
      warn("trying to acquire lock...");
      const rc = flockFd(fd, ["-w", String(timeout)]);
      if (rc !== 0) throw die(`can't lock file '${filename}' - got timeout`);
      // (PVE prints " OK" on the same stream)
      if (state.taskDepth > 0) process.stdout.write(" OK\n");
      else process.stderr.write(" OK\n");
    }
    held.add(filename);
    try {
      return await code();
    } finally {
      held.delete(filename);
    }
  } finally {
    closeSync(fd);
  }
}
