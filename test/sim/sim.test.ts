// The Proxmox stand-in (test/sim/bin/pct, pvesh) against real LXC: lifecycle, texts and exit codes.
// Runs as root on a host prepared by scripts/setup-host.sh (lxc, uidmap, /etc/subuid).
import { spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "bin");
const PCT = join(BIN, "pct");
const PVESH = join(BIN, "pvesh");
const USAGE_CREATE = "pct create <vmid> <ostemplate> [OPTIONS]\n";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let root = "";
/** VMIDs are host-wide (cgroup lxc/<vmid>, veth<vmid>i0): a per-run block keeps parallel runs apart */
const BASE = 800_000_000 + (process.pid % 1_000_000) * 100;
let next = 0;
/** CTs of the running test (cleaned up after it) and of the whole file (checked again at the end) */
const made = new Set<number>();
const everMade = new Set<number>();

function newId(): number {
  const id = BASE + next++;
  made.add(id);
  everMade.add(id);
  return id;
}

function run(cmd: string, args: string[], input?: string): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, PVE_SIM_ROOT: root };
  delete env["NODE_EXTRA_CA_CERTS"]; // only slows node's start
  const r = spawnSync(cmd, args, { env, encoding: "utf8", input, timeout: 90_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const pct = (...args: string[]) => run(PCT, args);
const pvesh = (...args: string[]) => run(PVESH, args);

const confFile = (id: number) => join(root, "etc/pve/lxc", `${id}.conf`);
const volDir = (id: number) => join(root, "var/lib/ctstore/images", String(id));
const lxcDir = (id: number) => join(root, "var/lib/lxc", String(id));

function lxcRunning(id: number): boolean {
  const r = spawnSync("lxc-info", ["-P", join(root, "var/lib/lxc"), "-n", String(id), "-s"], { encoding: "utf8" });
  return r.status === 0 && !/STOPPED/.test(r.stdout);
}

/** by VMID, whatever state the test left it in */
function cleanup(id: number): void {
  pct("unlock", String(id));
  pct("destroy", String(id), "--force", "--purge");
  if (lxcRunning(id)) spawnSync("lxc-stop", ["-P", join(root, "var/lib/lxc"), "-n", String(id), "-k"]);
  rmSync(confFile(id), { force: true });
  rmSync(volDir(id), { recursive: true, force: true });
  rmSync(lxcDir(id), { recursive: true, force: true });
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function statusPid(id: number): number {
  const r = pct("status", String(id), "--verbose");
  expect(r.code).toBe(0);
  const m = /^pid: (\d+)$/m.exec(r.stdout);
  if (!m?.[1]) throw new Error(`no pid in:\n${r.stdout}`);
  return Number(m[1]);
}

/** pct list: printf("%-10s %-10s %-12s %-20s\n") */
const listRow = (a: string | number, b: string, c: string, d: string) =>
  `${String(a).padEnd(10)} ${b.padEnd(10)} ${c.padEnd(12)} ${d.padEnd(20)}\n`;

const ENTRY = `#!/bin/sh
out=/tmp/entry.out
{
  echo "argc:$#"
  for a in "$@"; do echo "arg:$a"; done
  echo "cwd:$(pwd)"
  echo "uid:$(id -u)"
  echo "gid:$(id -g)"
  echo "hostname:$(hostname)"
  env | sort | sed 's/^/env:/'
} > "$out.tmp" && mv "$out.tmp" "$out"
exec sleep 100000
`;

/** busybox-static rootfs template, built here: local:vztmpl/busybox.tar.gz */
function buildTemplate(): void {
  const dir = mkdtempSync(join(root, "tmpl-"));
  mkdirSync(join(dir, "bin"));
  copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  for (const a of ["sh", "sleep", "cat", "echo", "env", "id", "hostname", "pwd", "ls", "sort", "sed", "mv", "ip", "true", "kill"])
    symlinkSync("busybox", join(dir, "bin", a));
  for (const d of ["etc", "root", "proc", "sys", "dev", "mnt", "tmp"]) mkdirSync(join(dir, d));
  chmodSync(join(dir, "tmp"), 0o1777);
  writeFileSync(join(dir, "entry.sh"), ENTRY, { mode: 0o755 });
  const cache = join(root, "var/lib/vz/template/cache");
  const tar = spawnSync("tar", ["--numeric-owner", "-C", dir, "-czf", join(cache, "busybox.tar.gz"), "."]);
  expect(tar.status).toBe(0);
  writeFileSync(join(cache, "broken.tar.gz"), "this is not a tar archive\n");
  rmSync(dir, { recursive: true });
}

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("test/sim needs root (LXC containers)");
  if (spawnSync("lxc-start", ["--version"]).status !== 0) throw new Error("LXC missing: run scripts/setup-host.sh");
  root = mkdtempSync("/tmp/pve-sim-");
  chmodSync(root, 0o755); // unprivileged CT roots (uid 100000) must be able to traverse it
  expect(pct("list")).toEqual({ code: 0, stdout: "", stderr: "" }); // also lays out storage.cfg
  buildTemplate();
});

afterEach(() => {
  for (const id of made) cleanup(id);
  made.clear();
});

afterAll(() => {
  if (!root) return;
  for (const id of everMade) if (existsSync(confFile(id)) || lxcRunning(id)) cleanup(id);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(` ${root}/`));
  expect(mounts).toEqual([]);
  rmSync(root, { recursive: true, force: true });
});

describe("pvesh", () => {
  it("get /cluster/nextid: first free id, --vmid check, 400 texts", () => {
    expect(pvesh("get", "/cluster/nextid")).toEqual({ code: 0, stdout: "100\n", stderr: "" });
    const id = newId();
    writeFileSync(confFile(id), "memory: 512\n");
    expect(pvesh("get", "/cluster/nextid", "--vmid", "4242")).toEqual({ code: 0, stdout: "4242\n", stderr: "" });
    expect(pvesh("get", "/cluster/nextid", "--vmid", String(id))).toEqual({
      code: 255,
      stdout: "",
      stderr: `400 Parameter verification failed.\nvmid: VM ${id} already exists\npvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]\n`,
    });
    expect(pvesh("get", "/cluster/nextid", "--vmid", "99").stderr).toBe(
      "400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n\npvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]\n",
    );
    expect(pvesh("get", "/cluster/nextid", "--output-format", "json").stdout).toBe('"100"\n');
  });

  it("get /nodes names the node", () => {
    const r = pvesh("get", "/nodes", "--output-format", "json");
    expect(r.code).toBe(0);
    const nodes = JSON.parse(r.stdout) as { node: string; status: string }[];
    expect(nodes.map((n) => [n.node, n.status])).toEqual([["pve", "online"]]);
  });
});

describe("pct lifecycle on LXC", () => {
  it("create, start, status, exec, stop, destroy --purge (unprivileged)", async () => {
    const id = newId();
    const host = join(root, `hostdir-${id}`);
    mkdirSync(host);
    writeFileSync(join(host, "hello.txt"), "from the host\n");

    const c = pct(
      "create", String(id), "local:vztmpl/busybox.tar.gz",
      "--rootfs", "ctstore:1",
      "--hostname", "simct",
      "--memory", "256",
      "--net0", "name=eth0,ip=10.250.3.2/24,host-managed=1",
      "--entrypoint", `/bin/sh /entry.sh 'first arg' "it's" second`,
      "--env", "GREETING=hello world",
      "--tags", "Web,app",
    ); // prettier-ignore
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`extracting archive '${join(root, "var/lib/vz/template/cache/busybox.tar.gz")}'\n`);
    const conf = readFileSync(confFile(id), "utf8");
    const hwaddr = /hwaddr=(BC:24:11:[0-9A-F:]{8})/.exec(conf)?.[1];
    expect(hwaddr).toBeDefined();
    expect(conf).toBe(
      [
        "arch: amd64",
        `entrypoint: /bin/sh /entry.sh 'first arg' "it's" second`,
        "hostname: simct",
        "memory: 256",
        `net0: name=eth0,host-managed=1,hwaddr=${hwaddr},ip=10.250.3.2/24,type=veth`,
        "ostype: unmanaged",
        `rootfs: ctstore:subvol-${id}-disk-0,size=1G`,
        "swap: 512",
        "tags: app;web",
        "unprivileged: 1",
        "lxc.environment.runtime: GREETING=hello world",
        "",
      ].join("\n"),
    );
    const vol = join(volDir(id), `subvol-${id}-disk-0`);
    expect(statSync(join(vol, "entry.sh")).uid).toBe(100000); // shifted like Proxmox does

    // raw lxc.* lines, as a driver appends them to the config
    appendFileSync(
      confFile(id),
      "lxc.environment.runtime: SECOND=2\nlxc.init.cwd: /tmp\nlxc.init.uid: 1000\nlxc.init.gid: 1000\n" +
        `lxc.mount.entry: ${host} mnt/host none bind,create=dir 0 0\n`,
    );
    expect(pct("config", String(id)).stdout).toContain(
      "lxc.init.cwd: /tmp\nlxc.init.uid: 1000\nlxc.init.gid: 1000\n",
    );

    expect(pct("status", String(id))).toEqual({ code: 0, stdout: "status: stopped\n", stderr: "" });
    expect(pct("start", String(id))).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(pct("status", String(id))).toEqual({ code: 0, stdout: "status: running\n", stderr: "" });
    expect(pct("start", String(id))).toEqual({ code: 255, stdout: "", stderr: `CT ${id} already running\n` });

    // the init is a real host process: the entrypoint itself, in the CT's rootfs and user namespace
    const pid = statusPid(id);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]).toBe("sleep");
    expect(statSync(`/proc/${pid}/root/entry.sh`).ino).toBe(statSync(join(vol, "entry.sh")).ino);
    expect(readFileSync(`/proc/${pid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^Uid:\s+101000\s/m);

    const out = await waitFor("entry.out", () => {
      try {
        return readFileSync(join(vol, "tmp/entry.out"), "utf8");
      } catch {
        return undefined;
      }
    });
    const lines = out.split("\n");
    expect(lines.slice(0, 8)).toEqual([
      "argc:3",
      "arg:first arg",
      "arg:it's",
      "arg:second",
      "cwd:/tmp",
      "uid:1000",
      "gid:1000",
      "hostname:simct",
    ]);
    for (const e of ["env:GREETING=hello world", "env:SECOND=2", "env:TERM=linux", "env:container=lxc"]) expect(lines).toContain(e);

    const verbose = pct("status", String(id), "--verbose").stdout;
    expect(verbose).toMatch(/^maxmem: 268435456$/m);
    expect(verbose).toMatch(/^name: simct$/m);
    expect(verbose).toMatch(/^status: running$/m);
    expect(verbose).toMatch(/^tags: app;web$/m);
    expect(verbose).toMatch(/^type: lxc$/m);
    expect(verbose).not.toMatch(/^cpu:/m);
    const keys = verbose.trim().split("\n").map((l) => l.split(":")[0]);
    expect(keys).toEqual([...keys].sort());

    const api = JSON.parse(pvesh("get", `/nodes/pve/lxc/${id}/status/current`, "--output-format", "json").stdout) as { pid: number };
    expect(api.pid).toBe(pid);
    expect(pct("list").stdout).toBe(listRow("VMID", "Status", "Lock", "Name") + listRow(id, "running", "", "simct"));

    // exec: stdio passed through, exit code of the command, 127 for a missing program
    expect(pct("exec", String(id), "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3")).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    expect(run(PCT, ["exec", String(id), "--", "cat"], "via stdin\n").stdout).toBe("via stdin\n");
    expect(pct("exec", String(id), "--", "/bin/nonexistent").code).toBe(127);
    expect(pct("exec", String(id), "--", "hostname").stdout).toBe("simct\n");
    expect(pct("exec", String(id), "--", "cat", "/mnt/host/hello.txt").stdout).toBe("from the host\n");
    expect(pct("exec", String(id), "--", "ip", "-4", "addr", "show", "eth0").stdout).toContain("inet 10.250.3.2/24");
    expect(pct("exec", String(id), "--", "sh", "-c", "echo $GREETING-$SECOND").stdout).toBe("hello world-2\n");
    expect(pct("exec", String(id), "ls", "-la")).toEqual({
      code: 255,
      stdout: "",
      stderr: "Unknown option: la\n400 unable to parse option\npct exec <vmid> [<extra-args>] [OPTIONS]\n",
    });
    expect(pct("exec", String(id))).toEqual({ code: 255, stdout: "", stderr: "missing command at /usr/share/perl5/PVE/CLI/pct.pm line 246.\n" });
    expect(pct("destroy", String(id))).toEqual({ code: 255, stdout: "", stderr: `unable to destroy CT ${id} - container is running\n` });

    expect(pct("stop", String(id))).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(pct("status", String(id)).stdout).toBe("status: stopped\n");
    await waitFor("init to exit", () => !existsSync(`/proc/${pid}`));
    expect(pct("status", String(id), "--verbose").stdout).not.toMatch(/^pid:/m);
    expect(pct("stop", String(id))).toEqual({ code: 255, stdout: "", stderr: `CT ${id} not running\n` });
    expect(pct("shutdown", String(id))).toEqual({ code: 255, stdout: "", stderr: `CT ${id} not running\n` });
    expect(pct("exec", String(id), "--", "true")).toEqual({ code: 255, stdout: "", stderr: `container '${id}' not running!\n` });

    expect(pct("destroy", String(id), "--purge")).toEqual({ code: 0, stdout: `purging CT ${id} from related configurations..\n`, stderr: "" });
    expect(existsSync(confFile(id))).toBe(false);
    expect(existsSync(volDir(id))).toBe(false);
    expect(existsSync(lxcDir(id))).toBe(false);
    expect(existsSync(join(root, "run/pve", `ct-${id}.stderr`))).toBe(false);
    // like on Proxmox, only the (empty) flock file of the config lock stays behind
    const left = spawnSync("find", [root, "-name", `*${id}*`], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(left.filter((p) => p !== host)).toEqual([join(root, "run/lock/lxc", `pve-config-${id}.lock`)]);
    expect(pct("status", String(id))).toEqual({ code: 2, stdout: "", stderr: `Configuration file 'nodes/pve/lxc/${id}.conf' does not exist\n` });
  });

  it("privileged CT, shutdown --forceStop, destroy --force of a running CT", async () => {
    const id = newId();
    const c = pct("create", String(id), "local:vztmpl/busybox.tar.gz", "--storage", "ctstore", "--unprivileged", "0", "--entrypoint", "/bin/sleep 100000", "--start");
    expect(c.code).toBe(0);
    expect(readFileSync(confFile(id), "utf8")).toContain(`rootfs: ctstore:subvol-${id}-disk-0,size=4G\n`);
    expect(readFileSync(confFile(id), "utf8")).not.toContain("unprivileged");
    const pid = statusPid(id);
    expect(readFileSync(`/proc/${pid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual(["0", "0", "4294967295"]);
    expect(pct("exec", String(id), "--", "id", "-u").stdout).toBe("0\n");
    expect(pct("exec", String(id), "--", "hostname").stdout).toBe(`CT${id}\n`);

    // sleep as PID 1 ignores SIGPWR (lxc.signal.halt): shutdown times out, --forceStop kills
    const t = pct("shutdown", String(id), "--timeout", "1");
    expect(t.code).toBe(255);
    expect(t.stderr).toBe("container did not stop\n");
    expect(t.stdout).toMatch(/^command 'lxc-stop .* --nokill --timeout 1' failed: exit code 1\n$/);
    expect(pct("shutdown", String(id), "--timeout", "1", "--forceStop", "1")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(pct("status", String(id)).stdout).toBe("status: stopped\n");

    expect(pct("start", String(id)).code).toBe(0);
    const d = pct("destroy", String(id), "--force", "--purge");
    expect(d).toEqual({ code: 0, stdout: `forced to stop CT ${id} before destroying!\npurging CT ${id} from related configurations..\n`, stderr: "" });
    expect(existsSync(confFile(id))).toBe(false);
    expect(lxcRunning(id)).toBe(false);
  });
});

describe("pct start failures", () => {
  it("reports LXC's errors on stdout, the task error on stderr; create --start still succeeds", async () => {
    const id = newId();
    // no entrypoint: LXC runs /sbin/init, which the busybox template lacks
    const c = pct("create", String(id), "local:vztmpl/busybox.tar.gz", "--storage", "ctstore", "--start", "1");
    expect(c.code).toBe(0); // a failing nested start task does not fail the create task
    expect(c.stderr).toBe("");
    expect(c.stdout).toContain(`startup for container '${id}' failed\n`);
    const r = pct("start", String(id));
    expect(r.code).toBe(255);
    expect(r.stderr).toBe(`startup for container '${id}' failed\n`);
    expect(r.stdout).toContain('Failed to exec "/sbin/init"');
    expect(pct("status", String(id)).stdout).toBe("status: stopped\n");
    expect(pct("set", String(id), "--entrypoint", "/bin/sleep 100000").code).toBe(0);
    expect(pct("start", String(id))).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(pct("status", String(id)).stdout).toBe("status: running\n");
  });
});

/** An OCI archive made with umoci from the busybox template's files: two layers, the second deleting /etc/gone. */
function buildOciArchive(name: string, config: string[]): string {
  const dir = mkdtempSync(join(root, "oci-"));
  const must = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  };
  const layout = join(dir, "layout");
  must("umoci", ["init", "--layout", layout]);
  must("umoci", ["new", "--image", `${layout}:t`]);
  must("umoci", ["unpack", "--image", `${layout}:t`, join(dir, "b")]);
  const rootfs = join(dir, "b", "rootfs");
  must("tar", ["-xzf", join(root, "var/lib/vz/template/cache/busybox.tar.gz"), "-C", rootfs]);
  chmodSync(rootfs, 0o755); // the template's "." is a mkdtemp (0700) directory; uid 1000 must traverse /
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/tmp:/bin/sh\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
  writeFileSync(join(rootfs, "etc/gone"), "lower layer\n");
  must("umoci", ["repack", "--image", `${layout}:t`, join(dir, "b")]);
  must("umoci", ["unpack", "--image", `${layout}:t`, join(dir, "b2")]);
  rmSync(join(dir, "b2", "rootfs", "etc/gone"));
  must("umoci", ["repack", "--image", `${layout}:t`, join(dir, "b2")]);
  must("umoci", ["config", "--image", `${layout}:t`, ...config]);
  must("skopeo", ["copy", "--quiet", `oci:${layout}:t`, `oci-archive:${join(root, "var/lib/vz/template/cache", name)}`]);
  rmSync(dir, { recursive: true, force: true });
  return `local:vztmpl/${name}`;
}

describe("pct create from an OCI archive (PVE 9.1)", () => {
  it("layers in order with whiteouts, in the CT's user namespace; the image config mapped onto the CT; its entrypoint runs as init", async () => {
    const volid = buildOciArchive("app_1.tar", [
      "--config.entrypoint", "/entry.sh", "--config.cmd", "one", "--config.cmd", "two words",
      "--config.env", "PATH=/bin", "--config.env", "GREETING=hi there",
      "--config.user", "app", "--config.workingdir", "/tmp", "--config.volume", "/data",
    ]);
    const id = newId();
    const c = pct("create", String(id), volid, "--rootfs", "ctstore:1", "--net0", "name=eth0,ip=manual");
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain("Detected OCI archive\n");
    expect(c.stdout).toContain("Auto-Enabling host-managed network for network device net0.\n");
    expect(c.stdout).toContain("creating base directory for volume at /data\n");
    const conf = readFileSync(confFile(id), "utf8");
    expect(conf).toMatch(/^entrypoint: \/entry\.sh one 'two words'$/m);
    expect(conf).toMatch(/^cmode: console$/m);
    expect(conf).toMatch(/^net0: .*host-managed=1/m);
    expect(conf).toMatch(/^lxc\.environment\.runtime: GREETING=hi there$/m);
    for (const line of ["lxc.init.uid: 1000", "lxc.init.gid: 1000", "lxc.init.groups: 2000", "lxc.init.cwd: /tmp", "lxc.signal.halt: SIGTERM"]) expect(conf.split("\n")).toContain(line);
    const vol = readdirSync(volDir(id)).map((d) => join(volDir(id), d))[0]!;
    expect(existsSync(join(vol, "etc/passwd"))).toBe(true);
    expect(existsSync(join(vol, "etc/gone"))).toBe(false); // whited out by the upper layer
    expect(existsSync(join(vol, "data"))).toBe(true);
    expect(statSync(join(vol, "bin/busybox")).uid).toBe(100000); // extracted inside the user namespace

    const started = pct("start", String(id));
    expect(started.code, started.stdout + started.stderr).toBe(0);
    const pid = statusPid(id);
    const out = await waitFor("entry.out", () => {
      try {
        return readFileSync(`/proc/${pid}/root/tmp/entry.out`, "utf8");
      } catch {
        return undefined;
      }
    });
    expect(out).toContain("argc:2\narg:one\narg:two words\n");
    expect(out).toContain("uid:1000\n");
    expect(out).toContain("cwd:/tmp\n");
    expect(out).toContain("env:GREETING=hi there\n");
  });

  it("an image whose command is /sbin/init keeps PVE's defaults (no entrypoint, no console mode); an unknown user fails the create and rolls back", () => {
    const sys = buildOciArchive("sys_1.tar", ["--config.entrypoint", "/sbin/init", "--config.stopsignal", "SIGRTMIN+3"]);
    const id = newId();
    expect(pct("create", String(id), sys, "--rootfs", "ctstore:1").code).toBe(0);
    const conf = readFileSync(confFile(id), "utf8");
    expect(conf).not.toMatch(/^entrypoint:/m);
    expect(conf).not.toMatch(/^cmode:/m);
    expect(conf).toMatch(/^lxc\.signal\.halt: SIGRTMIN\+3$/m);

    const ghost = buildOciArchive("ghost_1.tar", ["--config.cmd", "/bin/sh", "--config.user", "ghost"]);
    const id2 = newId();
    const r = pct("create", String(id2), ghost, "--rootfs", "ctstore:1");
    expect(r.code).toBe(255);
    expect(r.stderr).toBe(`unable to create CT ${id2} - unable to find user 'ghost' in the image's /etc/passwd\n`);
    expect(existsSync(confFile(id2))).toBe(false);
    expect(existsSync(volDir(id2))).toBe(false);
  });
});

describe("pct errors", () => {
  const tmpl = "local:vztmpl/busybox.tar.gz";

  it("VMID taken (CT, VM, CT on another node)", () => {
    const [a, b, c] = [newId(), newId(), newId()];
    writeFileSync(confFile(a), "memory: 512\n");
    mkdirSync(join(root, "etc/pve/qemu-server"), { recursive: true });
    writeFileSync(join(root, "etc/pve/qemu-server", `${b}.conf`), "memory: 512\n");
    mkdirSync(join(root, "etc/pve/nodes/pve2/lxc"), { recursive: true });
    writeFileSync(join(root, "etc/pve/nodes/pve2/lxc", `${c}.conf`), "memory: 512\n");
    try {
      expect(pct("create", String(a), tmpl, "--storage", "ctstore")).toEqual({ code: 255, stdout: "", stderr: `CT ${a} already exists on node 'pve'\n` });
      expect(pct("create", String(b), tmpl, "--storage", "ctstore").stderr).toBe(`VM ${b} already exists on node 'pve'\n`);
      expect(pct("create", String(c), tmpl, "--storage", "ctstore").stderr).toBe(`CT ${c} already exists on node 'pve2'\n`);
      expect(readFileSync(confFile(a), "utf8")).toBe("memory: 512\n");
    } finally {
      rmSync(join(root, "etc/pve/qemu-server", `${b}.conf`));
      rmSync(join(root, "etc/pve/nodes/pve2"), { recursive: true });
    }
  });

  it("bad vmid, bad hostname, unknown/ambiguous option: 400 blocks", () => {
    expect(pct("create", "99", tmpl)).toEqual({
      code: 255,
      stdout: "",
      stderr: `400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n\n${USAGE_CREATE}`,
    });
    expect(pct("create", "abc", tmpl).stderr).toBe(`400 Parameter verification failed.\nvmid: type check ('integer') failed - got 'abc'\n${USAGE_CREATE}`);
    const id = newId();
    expect(pct("create", String(id), tmpl, "--hostname", "bad_name")).toEqual({
      code: 255,
      stdout: "",
      stderr: `400 Parameter verification failed.\nhostname: invalid format - value does not look like a valid DNS name\n\n${USAGE_CREATE}`,
    });
    expect(pct("create", String(id), tmpl, "--memory", "8").stderr).toBe(
      `400 Parameter verification failed.\nmemory: value must have a minimum value of 16\n${USAGE_CREATE}`,
    );
    expect(pct("create", String(id), tmpl, "--foo", "1")).toEqual({
      code: 255,
      stdout: "",
      stderr: `Unknown option: foo\n400 unable to parse option\n${USAGE_CREATE}`,
    });
    expect(pct("create", String(id), tmpl, "--o", "x").stderr).toBe(
      `Option o is ambiguous (onboot, ostemplate, ostype)\n400 unable to parse option\n${USAGE_CREATE}`,
    );
    expect(pct("create", String(id)).stderr).toBe(`400 not enough arguments\n${USAGE_CREATE}`);
    expect(pct("create", String(id), tmpl, "extra").stderr).toBe(`400 too many arguments\n${USAGE_CREATE}`);
    // a boolean swallows the next word: the vmid is gone
    expect(pct("shutdown", "--forceStop", String(id)).stderr).toBe("400 not enough arguments\npct shutdown <vmid> [OPTIONS]\n");
    expect(pct("status", String(id), "--verbose=maybe").stderr).toBe("400 unable to parse boolean option\npct status <vmid> [OPTIONS]\n");
    expect(pct("frobnicate").stderr).toMatch(/^ERROR: unknown command 'pct frobnicate'\nUSAGE: pct <COMMAND> \[ARGS\] \[OPTIONS\]\n/);
    expect(existsSync(confFile(id))).toBe(false);
  });

  it("option syntax: --opt=value, -opt value, unique abbreviations, booleans", () => {
    const id = newId();
    const r = pct("create", String(id), tmpl, "-storage", "ctstore", "--host=abbrev", "--mem", "300", "-swap=0", "--onboot", "--unpriv", "0");
    expect(r.code).toBe(0);
    const conf = readFileSync(confFile(id), "utf8");
    for (const l of ["hostname: abbrev", "memory: 300", "swap: 0", "onboot: 1"]) expect(conf).toContain(`${l}\n`);
    expect(conf).not.toContain("unprivileged");
  });

  it("storage missing or without rootdir content, template missing / wrong / broken: rolled back", () => {
    const id = newId();
    expect(pct("create", String(id), tmpl, "--storage", "nostore")).toEqual({ code: 255, stdout: "", stderr: "storage 'nostore' does not exist\n" });
    expect(pct("create", String(id), tmpl, "--rootfs", "nostore:1").stderr).toBe("storage 'nostore' does not exist\n");
    expect(pct("create", String(id), tmpl)).toEqual({
      code: 255,
      stdout: "",
      stderr: `400 Parameter verification failed.\nstorage: storage 'local' does not support container directories\n${USAGE_CREATE}`,
    });
    expect(pct("create", String(id), "nostore:vztmpl/x.tar.gz", "--storage", "ctstore").stderr).toBe("storage 'nostore' does not exist\n");
    expect(pct("create", String(id), "local:iso/x.iso", "--storage", "ctstore").stderr).toBe(
      "unable to use volume local:iso/x.iso - content type needs to be 'vztmpl'\n",
    );
    expect(pct("create", String(id), "local:vztmpl/missing.tar.gz", "--storage", "ctstore")).toEqual({
      code: 255,
      stdout: "can't find file 'local:vztmpl/missing.tar.gz'\n",
      stderr: `unable to create CT ${id} - can't find file 'local:vztmpl/missing.tar.gz'\n`,
    });
    const broken = pct("create", String(id), "local:vztmpl/broken.tar.gz", "--storage", "ctstore");
    expect(broken.code).toBe(255);
    expect(broken.stderr).toMatch(
      new RegExp(`^unable to create CT ${id} - command 'lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 -- tar xpf - -z --totals .* --exclude '\\./dev/\\*'' failed: exit code 2\\n$`),
    );
    expect(existsSync(confFile(id))).toBe(false);
    expect(existsSync(volDir(id))).toBe(false);
  });

  it("CT missing", () => {
    const id = newId();
    const missing = `Configuration file 'nodes/pve/lxc/${id}.conf' does not exist\n`;
    expect(pct("status", String(id))).toEqual({ code: 2, stdout: "", stderr: missing });
    expect(pct("config", String(id))).toEqual({ code: 2, stdout: "", stderr: missing });
    expect(pct("destroy", String(id))).toEqual({ code: 2, stdout: "", stderr: missing });
    expect(pct("exec", String(id), "--", "true")).toEqual({ code: 2, stdout: "", stderr: missing });
    expect(pct("start", String(id))).toEqual({ code: 255, stdout: "", stderr: missing }); // raised inside the task
    expect(pct("stop", String(id))).toEqual({ code: 255, stdout: "", stderr: `CT ${id} not running\n` });
  });

  it("config lock (lock: key) and flock contention", async () => {
    const id = newId();
    expect(pct("create", String(id), tmpl, "--storage", "ctstore", "--entrypoint", "/bin/sleep 100000").code).toBe(0);
    appendFileSync(confFile(id), "lock: backup\n");
    const locked = { code: 255, stdout: "", stderr: "CT is locked (backup)\n" };
    expect(pct("start", String(id))).toEqual(locked);
    expect(pct("destroy", String(id))).toEqual(locked);
    expect(pct("set", String(id), "--memory", "128")).toEqual(locked);
    expect(pct("status", String(id), "--verbose").stdout).toMatch(/^lock: backup$/m);
    expect(pct("list").stdout).toBe(listRow("VMID", "Status", "Lock", "Name") + listRow(id, "stopped", "backup", `CT${id}`));
    expect(pct("unlock", String(id))).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(pct("unlock", String(id))).toEqual({ code: 255, stdout: "", stderr: "no lock found trying to remove any lock\n" });

    // another process holds the config flock: create gives up after 5 s
    const other = newId();
    const lockfile = join(root, "run/lock/lxc", `pve-config-${other}.lock`);
    mkdirSync(join(root, "run/lock/lxc"), { recursive: true });
    // -o: only flock(1) itself holds the lock, so killing its process group releases it
    const holder = spawn("flock", ["-o", lockfile, "sleep", "30"], { stdio: "ignore", detached: true });
    try {
      await waitFor("flock holder", () => existsSync(lockfile) && spawnSync("flock", ["-n", lockfile, "true"]).status !== 0);
      const t0 = Date.now();
      const r = await new Promise<Run>((resolve) => {
        const env: NodeJS.ProcessEnv = { ...process.env, PVE_SIM_ROOT: root };
        delete env["NODE_EXTRA_CA_CERTS"];
        const p = spawn(PCT, ["create", String(other), tmpl, "--storage", "ctstore"], { env });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        p.on("close", (code) => resolve({ code, stdout, stderr }));
      });
      expect(Date.now() - t0).toBeGreaterThan(4500);
      expect(r).toEqual({
        code: 255,
        stdout: "",
        stderr: `trying to acquire lock...\nunable to create CT ${other} - can't lock file '${lockfile}' - got timeout\n`,
      });
      expect(existsSync(confFile(other))).toBe(false);
    } finally {
      if (holder.pid) process.kill(-holder.pid, "SIGKILL");
    }
  }, 30_000);

  it("pct set: stopped CT, --delete, read-only and required options", () => {
    const id = newId();
    expect(pct("create", String(id), tmpl, "--storage", "ctstore").code).toBe(0);
    expect(pct("set", String(id), "--memory", "1024", "--cores", "1", "--description", "first\nsecond: 100%")).toEqual({ code: 0, stdout: "", stderr: "" });
    const conf = readFileSync(confFile(id), "utf8");
    expect(conf.startsWith("#first\n#second%3A 100%25\n")).toBe(true);
    expect(conf).toContain("cores: 1\n");
    expect(pct("config", String(id)).stdout).toContain("description: first%0Asecond%3A 100%25%0A\n");
    expect(pct("set", String(id), "--delete", "cores")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(readFileSync(confFile(id), "utf8")).not.toContain("cores:");
    expect(pct("set", String(id), "--delete", "memory")).toEqual({ code: 255, stdout: "", stderr: "unable to delete required option 'memory'\n" });
    expect(pct("set", String(id), "--unprivileged", "0")).toEqual({ code: 255, stdout: "", stderr: "unable to modify read-only option: 'unprivileged'\n" });
    expect(pct("set", String(id))).toEqual({ code: 255, stdout: "", stderr: "no options specified\n" });
  });
});

describe("sanity", () => {
  it("leaves no CT, cgroup or veth of this run behind", () => {
    const ours = (name: string) => {
      const n = Number(name.replace(/\.conf$/, ""));
      return n >= BASE && n < BASE + 100;
    };
    const confs = existsSync(join(root, "etc/pve/lxc")) ? readdirSync(join(root, "etc/pve/lxc")) : [];
    expect(confs.filter(ours)).toEqual([]);
    const cgroups: string[] = [];
    for (const h of readdirSync("/sys/fs/cgroup"))
      for (const sub of ["lxc", "lxc.monitor"]) {
        const d = join("/sys/fs/cgroup", h, sub);
        if (existsSync(d)) cgroups.push(...readdirSync(d).filter(ours).map((n) => join(d, n)));
      }
    expect(cgroups).toEqual([]);
    const links = spawnSync("ip", ["-o", "link"], { encoding: "utf8" }).stdout;
    expect(links.split("\n").filter((l) => /veth8\d{8}i/.test(l) && ours(/veth(\d+)i/.exec(l)?.[1] ?? ""))).toEqual([]);
  });
});
