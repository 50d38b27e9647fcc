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

/** Standard output: the command's document. */
export function writeOut(text: string): void {
  writeFd(1, text);
}

/** Standard error: the one-line error (a closed or broken stderr is not worth another error). */
export function writeErr(text: string): void {
  try {
    writeFd(2, text);
  } catch {
    // nowhere left to report it
  }
}
