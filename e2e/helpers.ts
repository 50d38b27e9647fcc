import { spawn } from "node:child_process";
import { constants } from "node:os";
import { chmodSync, closeSync, copyFileSync, openSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIG_CACHE_FILE } from "../src/config/cache.js";
import { defaultSpec } from "../src/oci/default-spec.js";
import { RO_NODE } from "./paths.js";

export const REPO = join(import.meta.dirname, "..");
export const NEXCAGE = join(REPO, "dist", "nexcage.mjs");
export const BUSYBOX = "/bin/busybox";
export const RUNTIMES = { crun: "/usr/bin/crun", runc: "/usr/sbin/runc" } as const;
export type RuntimeName = keyof typeof RUNTIMES;

/** The environment every child gets: without NODE_EXTRA_CA_CERTS (it only slows node's start). */
const ENV: Record<string, string | undefined> = { NODE_EXTRA_CA_CERTS: undefined };

const APPLETS = ["sh", "sleep", "echo", "cat", "env", "id", "hostname", "pwd", "ls", "true", "false", "trap", "kill"];

const made: string[] = [];

/** A temp dir, removed by Cleanup.run() after the containers in it were deleted. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nexcage-e2e-${prefix}-`));
  made.push(dir);
  return dir;
}

/** A busybox bundle made here from busybox-static: rootfs with /bin/busybox and applet links. */
export function makeBundle(args: string[], edit?: (spec: Record<string, any>) => void): string {
  const dir = tempDir("bundle");
  const bin = join(dir, "rootfs", "bin");
  mkdirSync(bin, { recursive: true });
  copyFileSync(BUSYBOX, join(bin, "busybox"));
  chmodSync(join(bin, "busybox"), 0o755);
  for (const a of APPLETS) symlinkSync("busybox", join(bin, a));
  for (const d of ["proc", "sys", "dev", "tmp", "etc"]) mkdirSync(join(dir, "rootfs", d), { recursive: true });
  const spec = defaultSpec({ rootless: false, uid: 0, gid: 0 }) as Record<string, any>;
  spec["process"].terminal = false;
  spec["process"].args = args;
  spec["root"].readonly = false;
  edit?.(spec);
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec, null, 2));
  return dir;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}


let outputs: string | undefined;

/**
 * Runs the built CLI. Its stdout and stderr go to files, not pipes: a container created through it
 * inherits them (as under containerd) and would hold a pipe open long after nexcage exited.
 */
export interface NexcageOptions {
  config?: string;
  cwd?: string;
  globals?: string[];
  /** The node to run nexcage with (the read-only one for the libcrun driver). */
  node?: string;
  env?: Record<string, string | undefined>;
  /** SIGKILL after this long (default 60 s). */
  timeoutMs?: number;
  /** Told nexcage's pid once it runs (to signal it). */
  onSpawn?: (pid: number) => void;
}

export async function nexcage(root: string, args: string[], opts: NexcageOptions = {}): Promise<Run> {
  const globals = ["--root", root, ...(opts.globals ?? [])];
  if (opts.config) globals.push("--config", opts.config);
  // NEXCAGE_E2E_BINARY: run the suites against a single binary (e.g. /usr/bin/nexcage) instead of node + the bundle
  const binary = process.env["NEXCAGE_E2E_BINARY"];
  if (binary) return captured(binary, [...globals, ...args], opts.cwd, opts.env, opts.timeoutMs, opts.onSpawn);
  return captured(opts.node ?? process.execPath, [NEXCAGE, ...globals, ...args], opts.cwd, opts.env, opts.timeoutMs, opts.onSpawn);
}

/**
 * The backends and drivers every lifecycle and error case runs against: one table, so the same
 * tests cover each (crun through its CLI, crun through libcrun, runc).
 */
export interface Variant {
  readonly name: string;
  readonly backend: RuntimeName;
  readonly config: Record<string, unknown>;
  readonly node?: string;
}

export const VARIANTS: readonly Variant[] = [
  { name: "crun (cli driver)", backend: "crun", config: { defaultBackend: "crun", backends: { crun: { driver: "cli" } } } },
  { name: "crun (libcrun driver)", backend: "crun", config: { defaultBackend: "crun", backends: { crun: { driver: "libcrun" } } }, node: RO_NODE },
  { name: "runc", backend: "runc", config: { defaultBackend: "runc" } },
];

/** nexcage bound to one variant: its config file and its node. */
export function nexcageFor(variant: Variant, root: string): (args: string[], extra?: NexcageOptions) => Promise<Run> {
  const config = configFile(variant.config);
  return (args, extra = {}) => nexcage(root, args, { config, node: variant.node, ...extra });
}

async function captured(file: string, argv: string[], cwd?: string, env?: Record<string, string | undefined>, timeoutMs = 60_000, onSpawn?: (pid: number) => void): Promise<Run> {
  outputs ??= tempDir("out");
  const r = await runToFiles(file, argv, {
    dir: outputs,
    cwd,
    timeoutMs,
    onSpawn,
    env: { ...process.env, ...ENV, NEXCAGE_CONFIG: undefined, NEXCAGE_CRUN_DRIVER: undefined, ...env },
  });
  return r;
}

/**
 * Runs a program with stdout and stderr going to files, not pipes (a container started through it
 * could inherit a pipe and hold it open long after the program exited); stdin is /dev/null.
 * Killed with SIGKILL after timeoutMs; then the code is 137 and stderr says so.
 */
export async function runToFiles(
  file: string,
  argv: string[],
  opts: { dir: string; timeoutMs: number; cwd?: string; env: Record<string, string | undefined>; onSpawn?: (pid: number) => void },
): Promise<Run> {
  const tag = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const out = join(opts.dir, `${tag}.out`);
  const err = join(opts.dir, `${tag}.err`);
  const outFd = openSync(out, "w");
  const errFd = openSync(err, "w");
  let code: number;
  let timedOut = false;
  try {
    code = await new Promise<number>((resolve, reject) => {
      const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", outFd, errFd] });
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, opts.timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on("exit", (c, sig) => {
        clearTimeout(timer);
        resolve(c ?? 128 + (sig ? constants.signals[sig] : 0));
      });
    });
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
  const run = { code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
  rmSync(out, { force: true });
  rmSync(err, { force: true });
  if (timedOut) run.stderr += `\n[${file} killed after ${opts.timeoutMs} ms]`;
  return run;
}

/** The real runtime, for comparing behaviour case by case. */
export async function runtime(name: RuntimeName, root: string, args: string[]): Promise<Run> {
  return captured(RUNTIMES[name], ["--root", root, ...args]);
}

/** The last line of runc's stderr without its logrus decoration. */
export function runcMessage(stderr: string): string {
  const line = stderr.trim().split("\n").pop() ?? "";
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
  return m ? JSON.parse(`"${m[1]}"`) : line;
}

/** nexcage's one-line error without the "nexcage: " prefix. */
export function nexcageMessage(stderr: string): string {
  const lines = stderr.trim().split("\n");
  return (lines[lines.length - 1] ?? "").replace(/^nexcage: /, "");
}

export function configFile(doc: unknown): string {
  const path = join(tempDir("config"), "config.json");
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/**
 * Every container a test makes is registered here and removed by id afterwards, even when the
 * test failed: nexcage containers with `delete --force`, direct runtime ones with the runtime.
 */
export class Cleanup {
  private readonly items: Array<() => Promise<unknown>> = [];
  private readonly dirs: string[] = [];

  nexcage(root: string, id: string): string {
    this.items.push(() => nexcage(root, ["delete", "--force", id]));
    return id;
  }

  runtime(name: RuntimeName, root: string, id: string): string {
    this.items.push(() => runtime(name, root, ["delete", "--force", id]));
    return id;
  }

  dir(path: string): string {
    this.dirs.push(path);
    return path;
  }

  async run(): Promise<void> {
    for (const f of this.items.splice(0).reverse()) await f().catch(() => undefined);
    for (const d of [...this.dirs.splice(0), ...made.splice(0)]) if (existsSync(d)) rmSync(d, { recursive: true, force: true });
    outputs = undefined;
  }
}

/**
 * What a root holds besides nexcage's validated-config cache (src/config/cache.ts): container
 * directories and anything a failed call left behind. An empty list means no container or state.
 */
export function rootEntries(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => name !== CONFIG_CACHE_FILE)
    .sort();
}
