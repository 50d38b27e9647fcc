import { withBackoff } from "../backoff.js";
import { ContainerBusyError } from "../errors.js";
import { nameDigest } from "./name-digest.js";

// node:net is imported when a lock is taken, not when this module loads: commands that take no
// lock (state, list, version) do not pay for loading it (docs/performance.md).

/**
 * One lock per (root, container id), held as a bound abstract unix socket. The kernel releases it
 * when the holder exits in any way (kill -9 included), so a crash never leaves a stale lock, and
 * no lock file is ever left in the root. Calls on one id serialize; calls on different ids do not
 * touch each other. Abstract sockets are per network namespace: every nexcage call that shares a
 * root must run in the same one (the host's, where containerd and operators run it).
 */
export function lockName(root: string, id: string): string {
  return `\0nexcage-lock/${nameDigest(`${root}\0${id}`)}`;
}

export interface Lock {
  release(): Promise<void>;
}

/** A bound lock socket; close() unbinds it. */
interface Held {
  close(): Promise<void>;
}

/** The part of Bun's API used here: in the shipped single binary, `Bun` is a global. */
interface BunListen {
  listen(o: { unix: string; socket: { data(): void } }): { stop(closeActive?: boolean): void; unref(): void };
}
declare const Bun: BunListen | undefined;

// Under Bun, loading Bun's node:net layer and listening costs about 6-8 ms of CPU per call (Bun
// scripts, perf task-clock); Bun.listen on the same abstract socket costs about 1 ms. Both bind an
// abstract unix socket, which the kernel releases when the process dies. Under Bun both bind the
// name at its own length (as the Bun binary did before with node:net); node pads an abstract name
// to the whole 108 bytes of sun_path. So a node build and the Bun binary name the same lock
// differently and do not exclude each other: one host runs one of them (the DEB ships the binary).
function tryBindBun(bun: BunListen, name: string): Held | undefined {
  try {
    const server = bun.listen({ unix: name, socket: { data() {} } });
    server.unref();
    return { close: async () => server.stop(true) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EADDRINUSE") return undefined;
    throw e;
  }
}

async function tryBind(name: string): Promise<Held | undefined> {
  if (typeof Bun !== "undefined") return tryBindBun(Bun, name);
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE") resolve(undefined);
      else reject(e);
    });
    server.listen({ path: name, exclusive: true }, () => {
      server.unref();
      resolve({ close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

export async function acquireLock(root: string, id: string, timeoutMs: number): Promise<Lock> {
  const name = lockName(root, id);
  const server = await withBackoff(timeoutMs, () => tryBind(name), () => new ContainerBusyError(id));
  return { release: () => server.close() };
}
