import type { RunOptions, RunResult, Running } from "./run.js";
import { childStdio, killAfter, trimNewline } from "./child-io.js";

/** The part of Bun's spawn API used here (the shipped single binary runs on Bun). */
type BunStdio = "inherit" | "ignore" | "pipe" | number;
interface BunSubprocess {
  readonly pid: number;
  readonly stdout: ReadableStream<Uint8Array> | number | undefined;
  readonly stderr: ReadableStream<Uint8Array> | number | undefined;
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals | number): void;
}
export interface BunSpawn {
  spawn(opts: { cmd: string[]; cwd?: string; env?: NodeJS.ProcessEnv; stdio: BunStdio[] }): BunSubprocess;
}

/**
 * The child through Bun.spawn (the single binary). Under Bun, node:child_process builds node-style
 * streams around each child and cost about 6 ms of CPU per spawn; Bun.spawn costs well under 1 ms
 * (docs/performance.md). Same argv (never a shell), descriptors, timeout and result as the node path.
 */
export function spawnWithBun(bun: BunSpawn, file: string, args: readonly string[], opts: RunOptions): Running {
  const stdio: BunStdio[] = childStdio(opts);
  let child: BunSubprocess;
  try {
    child = bun.spawn({ cmd: [file, ...args], cwd: opts.cwd, env: opts.env, stdio });
  } catch (e) {
    return { pid: undefined, kill: () => false, done: Promise.resolve({ stdout: "", stderr: "", timedOut: false, spawnError: e as NodeJS.ErrnoException }) };
  }
  const timeout = killAfter(opts.timeoutMs, () => child.kill("SIGKILL"));
  const read = async (s: BunSubprocess["stdout"]) => (typeof s === "object" ? trimNewline(await new Response(s).text()) : "");
  // like node's "close": the exit and the end of both captured outputs
  const done = Promise.all([read(child.stdout), read(child.stderr), child.exited]).then(([stdout, stderr]): RunResult => {
    timeout.clear();
    return { exitCode: child.exitCode ?? undefined, signal: child.signalCode ?? undefined, stdout, stderr, timedOut: timeout.timedOut() };
  });
  return {
    pid: child.pid,
    kill: (signal) => {
      child.kill(signal);
      return true;
    },
    done,
  };
}
