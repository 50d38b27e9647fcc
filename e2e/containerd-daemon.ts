import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * A private containerd process for the e2e harnesses (e2e/containerd-harness.ts for ctr,
 * e2e/cri-harness.ts for the CRI): starting it, stopping it, and removing by name what it and
 * its shims can leave behind (processes, mounts, cgroups). No shell: argv arrays only.
 */

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The environment for containerd (so for the shim and the runtime) and ctr. */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "NEXCAGE_CONFIG", "NEXCAGE_CRUN_DRIVER"]) delete env[k];
  return env;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mount points at or below dir, from /proc/self/mountinfo (octal escapes decoded). */
export function mountsBelow(dir: string): string[] {
  const decode = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => decode(l.split(" ")[4]!))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/**
 * The start of a config.toml (version 2) that keeps a containerd to dir: root, state, the gRPC
 * socket and ttrpc/debug sockets beside it, no metrics, its own opt dir. Tables may follow.
 */
export function privateConfig(dir: string, socket: string, opts: { level: string; disabledPlugins?: string[] }): string[] {
  const q = (s: string) => JSON.stringify(s);
  return [
    "version = 2",
    `root = ${q(join(dir, "root"))}`,
    `state = ${q(join(dir, "state"))}`,
    ...(opts.disabledPlugins ? [`disabled_plugins = ${JSON.stringify(opts.disabledPlugins)}`] : []),
    "[grpc]",
    `  address = ${q(socket)}`,
    "[ttrpc]",
    `  address = ${q(`${socket}.ttrpc`)}`,
    "[debug]",
    `  address = ${q(join(dir, "debug.sock"))}`,
    `  level = ${q(opts.level)}`,
    "[metrics]",
    '  address = ""',
    // else containerd creates /opt/containerd/{bin,lib} and puts them in the shim's PATH
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(join(dir, "opt"))}`,
  ];
}

/** Spawns `containerd ...argv` (output to log) and waits up to 30 s for ready(); else kills it and throws with its log. */
export async function startContainerd(opts: { argv: string[]; log: string; ready: () => Promise<boolean> }): Promise<ChildProcess> {
  const logFd = openSync(opts.log, "a");
  let proc: ChildProcess;
  try {
    proc = spawn("containerd", opts.argv, { env: childEnv(), stdio: ["ignore", logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) break;
    if (await opts.ready()) return proc;
    await Promise.race([sleep(200), exited]);
  }
  proc.kill("SIGKILL");
  let log = "";
  try {
    log = readFileSync(opts.log, "utf8");
  } catch {
    /* none written */
  }
  throw new Error(`containerd did not come up:\n${log}`);
}

/** SIGTERM, then SIGKILL after 10 s (noted in problems). */
export async function stopContainerd(proc: ChildProcess | undefined, problems: string[]): Promise<void> {
  if (proc?.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  for (let i = 0; i < 100 && alive(proc.pid); i++) await sleep(100);
  if (alive(proc.pid)) {
    problems.push("containerd ignored SIGTERM for 10 s");
    proc.kill("SIGKILL");
    for (let i = 0; i < 50 && alive(proc.pid); i++) await sleep(100);
  }
}

/** The cgroup dirs named `name` at the top of every hierarchy (one per hierarchy; v1 or v2). */
export function cgroupDirs(name: string): string[] {
  const dirs: string[] = [];
  const base = "/sys/fs/cgroup";
  const roots = [base, ...readdirSync(base).map((c) => join(base, c))];
  for (const r of roots) {
    const d = join(r, name);
    try {
      // cpu and cpuacct are links to cpu,cpuacct: one entry per hierarchy
      if (statSync(d).isDirectory() && !dirs.includes(realpathSync(d))) dirs.push(realpathSync(d));
    } catch {
      /* not in this hierarchy */
    }
  }
  return dirs;
}

/**
 * SIGKILLs the processes still left from a harness: those whose argv holds its socket (its shims)
 * and those in the cgroups /<cgroup>/ and /<cgroup>/* (thawed first). Only there if a task could
 * not be deleted; each one is noted in problems.
 */
export function killLeftovers(socket: string, cgroup: string, problems: string[]): void {
  const pids = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(socket)) pids.add(Number(entry));
    } catch {
      /* exited */
    }
  }
  for (const ns of cgroupDirs(cgroup)) {
    for (const sub of [ns, ...readdirSync(ns, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(ns, e.name))]) {
      try {
        // a frozen process cannot die: thaw first (cgroup v1 freezer)
        if (existsSync(join(sub, "freezer.state"))) writeFileSync(join(sub, "freezer.state"), "THAWED");
        if (existsSync(join(sub, "cgroup.freeze"))) writeFileSync(join(sub, "cgroup.freeze"), "0");
        for (const p of readFileSync(join(sub, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) pids.add(Number(p));
      } catch {
        /* removed meanwhile */
      }
    }
  }
  for (const pid of pids) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      process.kill(pid, "SIGKILL");
      problems.push(`process ${pid} (${cmd}) was left; killed`);
    } catch {
      /* gone meanwhile */
    }
  }
}

/** Unmounts what is mounted at or below dir (deepest first), then removes dir unless something stays mounted. */
export async function removeTree(dir: string, problems: string[]): Promise<void> {
  for (const mount of mountsBelow(dir).sort((a, b) => b.split("/").length - a.split("/").length || b.length - a.length)) {
    try {
      await execFileP("umount", [mount]);
    } catch {
      await execFileP("umount", ["-l", mount]).catch(() => undefined);
    }
  }
  const mounted = mountsBelow(dir);
  if (mounted.length) problems.push(`still mounted, ${dir} kept: ${mounted.join(" ")}`);
  else rmSync(dir, { recursive: true, force: true });
}

/** Removes the cgroups /<name>/* (each one left is noted: the runtime should have removed it) and /<name>. */
export function removeCgroups(name: string, problems: string[]): void {
  for (const ns of cgroupDirs(name)) {
    for (const e of readdirSync(ns, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      try {
        rmdirSync(join(ns, e.name));
        problems.push(`cgroup ${join(ns, e.name)} was left`);
      } catch (err) {
        problems.push(`cgroup ${join(ns, e.name)} was left and cannot be removed: ${(err as Error).message}`);
      }
    }
    try {
      rmdirSync(ns);
    } catch (err) {
      problems.push(`cgroup ${ns} cannot be removed: ${(err as Error).message}`);
    }
  }
}
