import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";

/**
 * Child processes, always from an argv (never a shell), with a timeout. A small replacement for
 * execa: loading execa cost about 60 ms of CPU per nexcage call (docs/performance.md).
 */
export interface RunOptions {
  /** inherit: the child (and a container it starts) gets our stdin; default: /dev/null. */
  readonly stdin?: "inherit" | "ignore";
  /**
   * inherit: our stdout/stderr go to the child (a container keeps them); stderr: the child's stdout
   * goes to our stderr (progress that must stay off stdout) and its stderr is captured; default: captured.
   */
  readonly output?: "inherit" | "pipe" | "stderr";
  /** Extra descriptors 3..3+n-1 passed through (runc's --preserve-fds). */
  readonly extraFds?: number;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  /** Undefined when killed by a signal or never started. */
  readonly exitCode?: number;
  readonly signal?: NodeJS.Signals;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Set when the program could not be started (ENOENT, EACCES). */
  readonly spawnError?: NodeJS.ErrnoException;
}

export interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<RunResult>;
}

export function start(file: string, args: readonly string[], opts: RunOptions = {}): Running {
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
    const text = (bufs: Buffer[]) => Buffer.concat(bufs).toString("utf8").replace(/\n$/, "");
    child.once("error", (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      resolve({ stdout: text(stdout), stderr: text(stderr), timedOut, spawnError: e });
    });
    child.once("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        exitCode: code ?? undefined,
        signal: signal ?? undefined,
        stdout: text(stdout),
        stderr: text(stderr),
        timedOut,
      });
    });
  });
  return { child, done };
}

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return start(file, args, opts).done;
}
