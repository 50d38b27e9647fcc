// A Debian 12 with systemd as PID 1, booted in systemd-nspawn on an overlay of the cached tree from
// scripts/bookworm-systemd-image.sh (why each nspawn option: docs/single-binary.md, "Tested on a
// booted systemd host"). The overlay's upper dir survives reboots, as a disk does,
// and is thrown away with the machine. Everything is named after the machine, so a run killed before
// its cleanup is swept by the next one.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const PREFIX = "nexcage-systemd-";
/** The hierarchies nspawn needs a cgroup of its own in, on this hybrid host (v1 name=systemd + v2). */
const HIERARCHIES = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];
const GUEST_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"];
/** systemd-nspawn's exit status when the guest ran `systemctl reboot`. */
const REBOOTED = 133;

function run(cmd: string, args: string[], timeoutMs = 120_000): Result {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"] });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: `${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

const sleep = (ms: number) => delay(ms);

function children(pid: number): number[] {
  const dir = `/proc/${pid}/task`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((t) => {
    try {
      return readFileSync(join(dir, t, "children"), "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** The guest's PID 1 as the host sees it: the descendant of nspawn that is pid 1 of its namespace. */
function guestInit(nspawn: number): number | undefined {
  const todo = children(nspawn);
  while (todo.length > 0) {
    const pid = todo.shift()!;
    try {
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]?.trim().split(/\s+/);
      if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === "1") return pid;
    } catch {
      continue;
    }
    todo.push(...children(pid));
  }
  return undefined;
}

/** Removes a cgroup and everything under it, killing what is still in it first. */
async function removeCgroup(path: string): Promise<void> {
  if (!existsSync(path)) return;
  for (let i = 0; i < 50; i++) {
    const dirs = run("find", [path, "-depth", "-type", "d"]).stdout.trim().split("\n").filter(Boolean);
    for (const d of dirs) {
      for (const pid of readFileSync(join(d, "cgroup.procs"), "utf8").trim().split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone already
        }
      }
      try {
        rmdirSync(d);
      } catch {
        // still busy: next round
      }
    }
    if (!existsSync(path)) return;
    await sleep(100);
  }
}

export class BootedSystem {
  readonly name: string;
  readonly dir: string;
  /** The guest's / as seen from the host (the overlay). */
  readonly root: string;
  private nspawn: ReturnType<typeof spawn> | undefined;
  private exited: Promise<number> | undefined;
  private init = 0;

  constructor(
    private readonly tree: string,
    tag: string,
  ) {
    this.name = `${PREFIX}${tag}-${process.pid}`;
    this.dir = join(tmpdir(), this.name);
    this.root = join(this.dir, "merged");
  }

  /** Removes what an earlier run (killed before its cleanup) left: machines whose test process is gone. */
  static async sweep(): Promise<void> {
    const names = new Set<string>();
    for (const base of [tmpdir(), ...HIERARCHIES]) {
      if (!existsSync(base)) continue;
      for (const n of readdirSync(base)) if (n.startsWith(PREFIX)) names.add(n);
    }
    for (const n of names) {
      const pid = Number(n.slice(n.lastIndexOf("-") + 1));
      if (pid > 0 && !existsSync(`/proc/${pid}`)) await BootedSystem.remove(n, join(tmpdir(), n));
    }
  }

  /** Mounts the overlay (first time) and boots; resolves when systemd reports the boot finished. */
  async boot(): Promise<void> {
    if (!existsSync(this.root)) {
      for (const d of ["upper", "work", "merged"]) mkdirSync(join(this.dir, d), { recursive: true });
      const m = run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${this.tree},upperdir=${this.dir}/upper,workdir=${this.dir}/work`, this.root]);
      if (m.code !== 0) throw new Error(`overlay mount failed: ${m.stderr.trim()}`);
    }
    const missing = HIERARCHIES.filter((h) => !existsSync(join(h, "cgroup.procs")));
    if (missing.length > 0) throw new Error(`this host's cgroups are not the hybrid layout the guest boots on: no ${missing.join(", ")}`);
    for (const h of HIERARCHIES) mkdirSync(join(h, this.name), { recursive: true });
    const log = openSync(join(this.dir, "console.log"), "a");
    // nspawn in cgroups of its own first (there is no host systemd to give it a scope)
    const args = ["-b", "--register=no", "--keep-unit", "--private-network", "--system-call-filter=@keyring", "--console=read-only", `--machine=${this.name}`, "-D", this.root];
    const script = 'for c in "$1" "$2"; do echo $$ > "$c/cgroup.procs" || exit 1; done; shift 2; exec systemd-nspawn "$@"';
    const child = spawn("bash", ["-c", script, "nspawn", ...HIERARCHIES.map((h) => join(h, this.name)), ...args], { stdio: ["ignore", log, log], detached: true });
    closeSync(log);
    this.nspawn = child;
    this.exited = new Promise((resolve) => child.on("exit", (code, sig) => resolve(code ?? 128 + (sig === "SIGKILL" ? 9 : 15))));
    const deadline = Date.now() + 60_000;
    let init: number | undefined;
    // the guest's pid 1 is nspawn's until it has set up the namespaces and executed systemd
    while (!(init = guestInit(child.pid!)) || comm(init) !== "systemd") {
      if (Date.now() > deadline) break;
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited ${child.exitCode}: ${this.console().slice(-2000)}`);
      await sleep(100);
    }
    if (!init || comm(init) !== "systemd") throw new Error(`no systemd in the guest after 60 s: ${this.console().slice(-2000)}`);
    this.init = init;
    // systemctl answers once systemd made /run/systemd/system ("offline" before) and its private socket
    let booted = this.exec(["systemctl", "is-system-running", "--wait"], 120_000);
    while ((booted.stdout.trim() === "offline" || /Failed to connect to bus/.test(booted.stderr)) && Date.now() < deadline) {
      await sleep(100);
      booted = this.exec(["systemctl", "is-system-running", "--wait"], 120_000);
    }
    const state = booted.stdout.trim();
    if (state !== "running" && state !== "degraded") throw new Error(`the guest did not boot: ${state} ${booted.stderr}\n${this.exec(["systemctl", "--failed", "--no-pager"]).stdout}`);
    // nspawn mounts the cgroup v1 controllers read-only; crun creates a container's cgroups in them
    for (const line of readFileSync(`/proc/${init}/mountinfo`, "utf8").split("\n")) {
      const f = line.split(" ");
      const target = f[4];
      const sep = f.indexOf("-");
      if (target?.startsWith("/sys/fs/cgroup/") && f[sep + 1] === "cgroup" && f[5]?.split(",").includes("ro")) {
        const r = this.exec(["mount", "-o", "remount,bind,rw", target]);
        if (r.code !== 0) throw new Error(`remount ${target} rw: ${r.stderr.trim()}`);
      }
    }
  }

  /**
   * A command inside the guest (all its namespaces, a clean environment), as root. Its output goes
   * to files, not pipes: a container it creates inherits them and would hold a pipe open.
   */
  exec(argv: string[], timeoutMs = 120_000, cwd = "/root"): Result {
    if (!this.init) throw new Error(`${this.name} is not booted`);
    const files = [join(this.dir, "exec.out"), join(this.dir, "exec.err")];
    const fds = files.map((f) => openSync(f, "w"));
    let r: ReturnType<typeof spawnSync>;
    try {
      r = spawnSync("nsenter", ["-t", String(this.init), "-a", "env", "-i", "-C", cwd, ...GUEST_ENV, ...argv], { timeout: timeoutMs, stdio: ["ignore", fds[0]!, fds[1]!] });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    const [stdout, stderr] = files.map((f) => readFileSync(f, "utf8"));
    return { code: r.status ?? 1, stdout: stdout!, stderr: `${stderr}${r.error ? String(r.error) : ""}` };
  }

  /** `systemctl reboot` inside, then boots the same disk again. Resolves to nspawn's exit status (133). */
  async reboot(): Promise<number> {
    this.exec(["systemctl", "reboot"]);
    const code = await this.waitExit(60_000);
    await this.boot();
    return code;
  }

  private async waitExit(timeoutMs: number): Promise<number> {
    const exited = this.exited!;
    const timer = new AbortController();
    const code = await Promise.race([exited, delay(timeoutMs, undefined, { signal: timer.signal }).catch(() => undefined)]);
    timer.abort();
    if (code !== undefined) return code;
    this.nspawn?.kill("SIGKILL");
    return exited;
  }

  console(): string {
    try {
      return readFileSync(join(this.dir, "console.log"), "utf8");
    } catch {
      return "";
    }
  }

  /** Powers the guest off (or kills nspawn), then removes its cgroups, mounts and files. */
  async destroy(): Promise<void> {
    if (this.nspawn && this.nspawn.exitCode === null && this.nspawn.signalCode === null) {
      // nspawn answers SIGTERM by asking the guest to power off
      if (!this.init || this.exec(["systemctl", "poweroff"], 10_000).code !== 0) this.nspawn.kill("SIGTERM");
      await this.waitExit(30_000);
    }
    this.init = 0;
    await BootedSystem.remove(this.name, this.dir);
  }

  private static async remove(name: string, dir: string): Promise<void> {
    for (const h of HIERARCHIES) await removeCgroup(join(h, name));
    // crun inside the guest makes a container's v1 cgroups at the root of the host's controllers
    // (nspawn shares them): the guest's container ids start with the machine's name
    for (const c of readdirSync("/sys/fs/cgroup")) {
      const ctrl = join("/sys/fs/cgroup", c);
      if (HIERARCHIES.includes(ctrl) || !existsSync(join(ctrl, "cgroup.procs"))) continue;
      for (const n of readdirSync(ctrl)) if (n.startsWith(name)) await removeCgroup(join(ctrl, n));
    }
    const merged = join(dir, "merged");
    // lazily: a process that escaped the guest's pid namespace must not keep the overlay mounted
    while (run("mountpoint", ["-q", merged]).code === 0) if (run("umount", ["-R", "-l", merged]).code !== 0) break;
    if (run("mountpoint", ["-q", merged]).code !== 0) rmSync(dir, { recursive: true, force: true });
    rmSync(join("/run/systemd/nspawn/propagate", name), { recursive: true, force: true });
  }

  /** The nspawn exit code REBOOTED means the guest asked for a reboot. */
  static readonly REBOOTED = REBOOTED;
}
