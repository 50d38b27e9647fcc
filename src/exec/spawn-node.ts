import { childStdio, killAfter, trimNewline } from "./child-io.js";
import type { RunOptions, RunResult, Running } from "./run.js";

/**
 * The child through node:child_process (node: the tests and dist/nexcage.mjs). The module is
 * fetched when the first child starts, so a call that starts none does not load it.
 */
export function spawnWithNode(file: string, args: readonly string[], opts: RunOptions): Running {
  const { spawn } = process.getBuiltinModule("node:child_process");
  const child = spawn(file, [...args], { cwd: opts.cwd, env: opts.env, stdio: childStdio(opts), shell: false });
  const done = new Promise<RunResult>((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => stdout.push(b));
    child.stderr?.on("data", (b: Buffer) => stderr.push(b));
    const timeout = killAfter(opts.timeoutMs, () => child.kill("SIGKILL"));
    const text = (bufs: Buffer[]) => trimNewline(Buffer.concat(bufs).toString("utf8"));
    child.once("error", (e: NodeJS.ErrnoException) => {
      timeout.clear();
      resolve({ stdout: text(stdout), stderr: text(stderr), timedOut: timeout.timedOut(), spawnError: e });
    });
    child.once("close", (code, signal) => {
      timeout.clear();
      resolve({ exitCode: code ?? undefined, signal: signal ?? undefined, stdout: text(stdout), stderr: text(stderr), timedOut: timeout.timedOut() });
    });
  });
  return { pid: child.pid, kill: (signal) => child.kill(signal), done };
}

