import type { RunOptions } from "./run.js";

/** A child's descriptors 0, 1, 2 and 3.. from RunOptions: the same values for node and Bun. */
export function childStdio(opts: RunOptions): Array<"inherit" | "ignore" | "pipe" | number> {
  const out = opts.output === "inherit" ? "inherit" : opts.output === "stderr" ? 2 : "pipe";
  const err = opts.output === "inherit" ? "inherit" : "pipe";
  return [opts.stdin ?? "ignore", out, err, ...Array.from({ length: opts.extraFds ?? 0 }, (_, i) => i + 3)];
}

/** SIGKILLs the child once `timeoutMs` has passed; `timedOut` says whether it did. */
export function killAfter(timeoutMs: number | undefined, kill: () => void): { timedOut(): boolean; clear(): void } {
  let fired = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          fired = true;
          kill();
        }, timeoutMs);
  return { timedOut: () => fired, clear: () => timer && clearTimeout(timer) };
}

/** Captured output loses its one trailing newline. */
export function trimNewline(s: string): string {
  return s.replace(/\n$/, "");
}
