import type { StdioOptions } from "node:child_process";
import type { RunOptions, RunResult, Running } from "./run.js";

/**
 * The child through node:child_process (node: the tests and dist/nexcage.mjs). The module is
 * fetched when the first child starts, so a call that starts none does not load it.
 */
export function spawnWithNode(file: string, args: readonly string[], opts: RunOptions): Running {
  const { spawn } = process.getBuiltinModule("node:child_process");
  const out = opts.output === "inherit" ? "inherit" : opts.output === "stderr" ? 2 : "pipe";
  const err = opts.output === "inherit" ? "inherit" : "pipe";
  const stdio: StdioOptions = [opts.stdin ?? "ignore", out, err, ...Array.from({ length: opts.extraFds ?? 0 }, (_, i) => i + 3)];
  const child = spawn(file, [...args], { cwd: opts.cwd, env: opts.env, stdio, shell: false });
  const done = new Promise<RunResult>((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => stdout.push(b));
    child.stderr?.on("data", (b: Buffer) => stderr.push(b));
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, opts.timeoutMs);
    const text = (bufs: Buffer[]) => trimNewline(Buffer.concat(bufs).toString("utf8"));
    child.once("error", (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      resolve({ stdout: text(stdout), stderr: text(stderr), timedOut, spawnError: e });
    });
    child.once("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ exitCode: code ?? undefined, signal: signal ?? undefined, stdout: text(stdout), stderr: text(stderr), timedOut });
    });
  });
  return { pid: child.pid, kill: (signal) => child.kill(signal), done };
}

/** Captured output loses its one trailing newline. */
export function trimNewline(s: string): string {
  return s.replace(/\n$/, "");
}
