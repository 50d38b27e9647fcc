import { closeSync, constants, fstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { OciRef } from "./probe.js";
import type { Handle } from "./contract.js";
import { readCrunStateJson, runsHooks } from "./crun-state.js";

/**
 * crun's `start` (libcrun_container_start, crun 1.8): the created container's init waits, before it
 * executes the process, on the read end of <state>/<id>/exec.fifo; start opens the write end,
 * removes the fifo and writes one byte, and the init goes on. Then crun runs the spec's poststart
 * hooks, and with $NOTIFY_SOCKET set it waits for the container's READY first. nexcage does the
 * fifo part itself, under the id's lock, when there is nothing of the rest: that saves starting
 * crun (about 5 ms of a 20 ms start, docs/performance.md). Anything else goes through crun.
 */

/** Pure: whether a start must go through crun: poststart hooks to run or a notify socket to wait on. */
export function startNeedsRuntime(stateConfig: unknown, env: NodeJS.ProcessEnv): boolean {
  // crun takes any NOTIFY_SOCKET it is given, even an empty one
  if (env["NOTIFY_SOCKET"] !== undefined) return true;
  if (typeof stateConfig !== "object" || stateConfig === null || Array.isArray(stateConfig)) return true;
  return runsHooks(stateConfig, "poststart");
}

/**
 * Lets a created crun container's init execute its process, as crun's start does: true when done;
 * false when crun must do it (hooks, a notify socket, or no fifo with a reader as expected: crun's
 * own start then reports what it finds).
 */
export function startThroughExecFifo(h: Handle<OciRef>, env: NodeJS.ProcessEnv = process.env): boolean {
  const root: unknown = h.ref.root;
  if (typeof root !== "string") return false;
  const stateDir = join(root, h.id);
  if (startNeedsRuntime(readCrunStateJson(stateDir, "config.json"), env)) return false;
  const fifo = join(stateDir, "exec.fifo");
  let fd: number;
  try {
    // non-blocking: no reader (the init is gone) is ENXIO at once, where crun's open would wait
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    if (!fstatSync(fd).isFIFO()) return false;
    unlinkSync(fifo);
    writeSync(fd, Buffer.of(0));
    return true;
  } finally {
    closeSync(fd);
  }
}
