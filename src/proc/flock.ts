import { createRequire } from "node:module";

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(2): 0, or -1 when it failed (with LOCK_NB: another holder). */
export type Flock = (fd: number, op: number) => number;

/** In the shipped single binary `Bun` is a global: bun:ffi there (koffi is not in the binary's module graph), koffi under node. */
declare const Bun: unknown;

let flockFn: Flock | undefined;

/** libc's flock, loaded once per process. */
export async function loadFlock(): Promise<Flock> {
  if (flockFn) return flockFn;
  if (typeof Bun !== "undefined") {
    // a name in a variable: bundlers leave the import alone, Bun resolves its built-in module
    const name = "bun:ffi";
    const ffi = (await import(name)) as {
      dlopen(lib: string, syms: Record<string, { args: string[]; returns: string }>): { symbols: { flock: Flock } };
    };
    flockFn = ffi.dlopen("libc.so.6", { flock: { args: ["i32", "i32"], returns: "i32" } }).symbols.flock;
  } else {
    const koffi = createRequire(import.meta.url)("koffi") as { load(lib: string): { func(decl: string): Flock } };
    flockFn = koffi.load("libc.so.6").func("int flock(int fd, int op)");
  }
  return flockFn;
}
