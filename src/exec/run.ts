import { spawnWithBun, type BunSpawn } from "./spawn-bun.js";
import { spawnWithNode } from "./spawn-node.js";

/**
 * Child processes, always from an argv (never a shell), with a timeout. A small replacement for
 * execa: loading execa cost about 60 ms of CPU per nexcage call (docs/performance.md). Under Bun
 * (the single binary) the child starts through Bun.spawn, under node through node:child_process.
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
  /** Undefined when the program could not be started. */
  readonly pid: number | undefined;
  kill(signal: NodeJS.Signals): boolean;
  readonly done: Promise<RunResult>;
}

declare const Bun: BunSpawn | undefined;

export function start(file: string, args: readonly string[], opts: RunOptions = {}): Running {
  if (typeof Bun !== "undefined") return spawnWithBun(Bun, file, args, opts);
  return spawnWithNode(file, args, opts);
}

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return start(file, args, opts).done;
}
