import { writeSync } from "node:fs";

/**
 * Writes all of `text` to a descriptor, synchronously. nexcage prints one document and exits, so
 * it writes straight to fd 1 and 2 instead of through process.stdout/stderr: under Bun, the first
 * touch of process.stdout builds its stream and cost about 8 ms of CPU per call
 * (docs/performance.md). A descriptor another process made non-blocking (EAGAIN) is waited on.
 */
export function writeFd(fd: number, text: string): void {
  let buf = Buffer.from(text, "utf8");
  while (buf.length > 0) {
    let n: number;
    try {
      n = writeSync(fd, buf);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      continue;
    }
    buf = buf.subarray(n);
  }
}

/** Standard output was closed by its reader (`nexcage list | head -0`). */
export class StdoutClosed extends Error {}

/** Standard output: the command's document. */
export function writeOut(text: string): void {
  try {
    writeFd(1, text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EPIPE") throw new StdoutClosed("stdout closed");
    throw e;
  }
}

/**
 * Ends the process as runc does when its reader went away: killed by SIGPIPE, no message (a Go
 * program dies of the signal on a write to a closed stdout; node and Bun ignore SIGPIPE, so its
 * default action is restored first: adding and removing a listener resets it to SIG_DFL).
 */
export function dieOfSigpipe(): never {
  const noop = () => {};
  process.on("SIGPIPE", noop);
  process.off("SIGPIPE", noop);
  process.kill(process.pid, "SIGPIPE");
  // the signal is on its way to one of the process's threads: wait for it, then the shell's status for it
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  process.exit(128 + 13);
}

/** Standard error: the one-line error (a closed or broken stderr is not worth another error). */
export function writeErr(text: string): void {
  try {
    writeFd(2, text);
  } catch {
    // nowhere left to report it
  }
}
