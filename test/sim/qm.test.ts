// The qm stand-in (test/sim/bin/qm): outputs, error texts, exit codes and the VM state machine as
// proxmox-cli.md §0 and §3 describe them, with a real QEMU (run as `kvm`) per running VM. The VMs here
// boot nothing (a blank disk: SeaBIOS finds no boot sector), so a guest never answers an ACPI
// shutdown; qm-guest.test.ts boots the guest image for what needs an OS.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readProcStat } from "../../src/proc/stat.js";

const QM = join(import.meta.dirname, "bin", "qm");
const PVESH = join(import.meta.dirname, "bin", "pvesh");
let root = "";
let next = 0;
const made = new Set<number>();
const newId = () => {
  const id = 700 + next++;
  made.add(id);
  return id;
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[]): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, PVE_SIM_ROOT: root };
  delete env["NODE_EXTRA_CA_CERTS"];
  const r = spawnSync(cmd, args, { env, encoding: "utf8", timeout: 90_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const qm = (...args: string[]) => run(QM, args);
const conf = (id: number) => readFileSync(join(root, "etc/pve/qemu-server", `${id}.conf`), "utf8");
const pidOf = (id: number) => Number(/^pid: (\d+)$/m.exec(qm("status", String(id), "--verbose").stdout)?.[1]);
const gone = (pid: number) => [undefined, "Z", "X"].includes(readProcStat(pid)?.state);
const image = () => join(root, "disk.raw");

/** a small VM with a disk imported from a file and a cloud-init drive */
function makeVm(id: number, ...extra: string[]): Run {
  return qm("create", String(id), "--name", `vm${id}`, "--memory", "128", "--net0", "virtio,bridge=vmbr0", "--scsi0", `ctstore:0,import-from=${image()}`, "--ide2", "ctstore:cloudinit", ...extra);
}

beforeAll(() => {
  root = mkdtempSync("/tmp/pve-sim-qm-");
  expect(qm("list")).toEqual({ code: 0, stdout: "", stderr: "" }); // nothing at all when there are no VMs
  writeFileSync(image(), Buffer.alloc(64 * 1024));
});

afterEach(() => {
  for (const id of made) {
    qm("unlock", String(id));
    qm("stop", String(id));
    qm("destroy", String(id), "--purge");
  }
  made.clear();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("qm create / config / list", () => {
  it("create imports the disk, makes the cloud-init drive, adds a MAC, meta, smbios1, vmgenid and a boot order; config prints keys sorted", () => {
    const id = newId();
    const r = makeVm(id, "--description", "first line\nsecond: 50%", "--tags", "B;a,b");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`importing disk '${image()}' to VM ${id} ...\n`);
    expect(r.stdout).toContain("transferred 64K of 64K (100.00%)\n");
    const c = conf(id);
    expect(c.split("\n").slice(0, 2)).toEqual(["#first line", "#second%3A 50%25"]);
    expect(c).toMatch(new RegExp(`^scsi0: ctstore:${id}/vm-${id}-disk-0\\.raw,size=64K$`, "m"));
    expect(c).toMatch(new RegExp(`^ide2: ctstore:${id}/vm-${id}-cloudinit\\.qcow2,media=cdrom$`, "m"));
    expect(c).toMatch(/^net0: virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0$/m);
    expect(c).toMatch(/^meta: creation-qemu=9\.2\.0,ctime=\d+$/m);
    expect(c).toMatch(/^smbios1: uuid=[0-9a-f-]{36}$/m);
    expect(c).toMatch(/^boot: order=scsi0;net0$/m);
    expect(c).toMatch(/^tags: a;b$/m);
    const cfg = qm("config", String(id));
    const keys = cfg.stdout.trim().split("\n").map((l) => l.split(":")[0]!);
    expect(keys).toEqual([...keys].sort());
    expect(cfg.stdout).toMatch(/^description: first line%0Asecond%3A 50%25$/m);
    const list = qm("list").stdout.split("\n");
    expect(list[0]).toBe("      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       ");
    expect(list[1]).toBe(`${String(id).padStart(10)} ${`vm${id}`.padEnd(20)} stopped    128                0.00 0         `);
  });

  it.each([
    ["an ID in use", (id: number) => (makeVm(id), makeVm(id)), 255, (id: number) => `unable to create VM ${id} - VM ${id} already exists on node 'pve'\n`],
    ["import-from with a size", (id: number) => qm("create", String(id), "--scsi0", `ctstore:4,import-from=${image()}`), 255, () => "400 Parameter verification failed.\nscsi0: 'import-from' requires special syntax - use <storage ID>:0,import-from=<source>\nqm create <vmid> [OPTIONS]\n"],
    ["a storage without images", (id: number) => qm("create", String(id), "--scsi0", "local:1"), 255, () => "400 Parameter verification failed.\nstorage: storage 'local' does not support vm images\nqm create <vmid> [OPTIONS]\n"],
    ["an unknown storage", (id: number) => qm("create", String(id), "--scsi0", "nope:1"), 255, () => "storage 'nope' does not exist\n"],
    ["a missing import source", (id: number) => qm("create", String(id), "--scsi0", "ctstore:0,import-from=/nonexistent.img"), 255, () => "can't find file '/nonexistent.img'\n"],
    ["a bad name", (id: number) => qm("create", String(id), "--name", "no_underscore"), 255, () => "400 Parameter verification failed.\nname: invalid format - value does not look like a valid DNS name\n\nqm create <vmid> [OPTIONS]\n"],
    ["a bad VMID", () => qm("create", "99"), 255, () => "400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n\nqm create <vmid> [OPTIONS]\n"],
  ])("create refuses %s", (_name, act, code, stderr) => {
    const id = newId();
    const r = act(id);
    expect(r.code).toBe(code);
    expect(r.stderr).toBe(stderr(id));
  });
});

describe("qm clone", () => {
  it("a full clone gets its own disks, a new MAC, name and description; the template stays", () => {
    const t = newId();
    const c = newId();
    expect(makeVm(t).code).toBe(0);
    expect(qm("template", String(t)).code).toBe(0);
    const r = qm("clone", String(t), String(c), "--name", "copy", "--description", "made by a test", "--full", "1", "--storage", "ctstore");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`creating a clone of VM ${t} with ID ${c}\n`);
    const cc = conf(c);
    expect(cc).toMatch(new RegExp(`^scsi0: ctstore:${c}/vm-${c}-disk-0\\.raw,size=64K$`, "m"));
    expect(cc).toMatch(new RegExp(`^ide2: ctstore:${c}/vm-${c}-cloudinit\\.qcow2,media=cdrom$`, "m"));
    expect(cc).toMatch(/^name: copy$/m);
    expect(cc).toMatch(/^#made by a test$/m);
    expect(cc).not.toMatch(/^template:/m);
    expect(/^net0: (.*)$/m.exec(cc)?.[1]).not.toBe(/^net0: (.*)$/m.exec(conf(t))?.[1]);
    expect(conf(t)).toMatch(/^template: 1$/m);
  });

  it.each([
    ["a missing source", (t: number, c: number) => qm("clone", String(t + 50), String(c)), 2, (t: number) => `Configuration file 'nodes/pve/qemu-server/${t + 50}.conf' does not exist\n`],
    ["a taken target", (t: number) => qm("clone", String(t), String(t)), 255, (t: number) => `unable to create VM ${t}: config file already exists\n`],
    ["--storage on a linked clone", (t: number, c: number) => qm("clone", String(t), String(c), "--full", "0", "--storage", "ctstore"), 255, () => "parameter 'storage' not allowed for linked clones\n"],
    ["a linked clone of a raw disk", (t: number, c: number) => qm("clone", String(t), String(c), "--full", "0"), 255, (t: number) => `Linked clone feature is not supported for 'ctstore:${t}/vm-${t}-disk-0.raw' (scsi0)\n`],
  ])("clone refuses %s", (_n, act, code, stderr) => {
    const t = newId();
    const c = newId();
    expect(makeVm(t).code).toBe(0);
    const r = act(t, c);
    expect(r.code).toBe(code);
    expect(r.stderr).toBe(stderr(t));
    expect(existsSync(join(root, "etc/pve/qemu-server", `${c}.conf`))).toBe(false);
  });
});

describe("qm power: the state machine on a real process", () => {
  it("start runs QEMU as kvm, whose pid status reports; stop quits it; stop of a stopped VM is a no-op", () => {
    const id = newId();
    expect(makeVm(id).code).toBe(0);
    expect(qm("status", String(id))).toEqual({ code: 0, stdout: "status: stopped\n", stderr: "" });
    expect(qm("start", String(id))).toEqual({ code: 0, stdout: "", stderr: "" });
    const pid = pidOf(id);
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    expect(argv.slice(0, 1)).toEqual(["kvm"]);
    expect(argv[argv.indexOf("-name") + 1]).toBe(`vm${id},debug-threads=on`);
    expect(argv[argv.indexOf("-pidfile") + 1]).toBe(join(root, "var/run/qemu-server", `${id}.pid`));
    expect(argv).toContain(`socket,id=qmp,path=${join(root, "var/run/qemu-server", `${id}.qmp`)},server=on,wait=off`);
    expect(readFileSync(join(root, "var/run/qemu-server", `${id}.pid`), "utf8").trim()).toBe(String(pid));
    const v = qm("status", String(id), "--verbose").stdout;
    const keys = v.split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => l.split(":")[0]!);
    expect(keys).toEqual([...keys].sort());
    expect(v).toContain(`\nnics:\n\ttap${id}i0:\n\t\tnetin: 0\n\t\tnetout: 0\n`); // nested hashes, TAB-indented
    expect(v).toMatch(/^status: running$/m);
    expect(v).toMatch(/^qmpstatus: running$/m);
    expect(v).toMatch(/^maxmem: 134217728$/m);
    expect(qm("start", String(id))).toMatchObject({ code: 255, stderr: `VM ${id} already running\n` });
    expect(qm("destroy", String(id))).toMatchObject({ code: 255, stderr: `VM ${id} is running - destroy failed\n` });
    expect(qm("stop", String(id))).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(gone(pid)).toBe(true);
    expect(qm("status", String(id)).stdout).toBe("status: stopped\n");
    expect(qm("stop", String(id))).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(qm("shutdown", String(id))).toEqual({ code: 0, stdout: "", stderr: `VM ${id} not running\n` });
  });

  it("a guest without ACPI ignores shutdown: 'got timeout', or with --forceStop SIGTERM; stop ends it", () => {
    const id = newId();
    expect(makeVm(id, "--acpi", "0").code).toBe(0);
    expect(qm("start", String(id)).code).toBe(0);
    const pid = pidOf(id);
    expect(qm("shutdown", String(id), "--timeout", "1")).toEqual({ code: 255, stdout: "", stderr: "VM quit/powerdown failed - got timeout\n" });
    expect(gone(pid)).toBe(false);
    expect(qm("shutdown", String(id), "--timeout", "1", "--forceStop", "1")).toEqual({ code: 0, stdout: "VM still running - terminating now with SIGTERM\n", stderr: "" });
    expect(gone(pid)).toBe(true);
    expect(qm("start", String(id)).code).toBe(0);
    const again = pidOf(id);
    expect(qm("stop", String(id)).code).toBe(0);
    expect(gone(again)).toBe(true);
  });

  it("suspend pauses the vCPUs (status paused), shutdown refuses a paused VM, resume continues", () => {
    const id = newId();
    expect(makeVm(id).code).toBe(0);
    expect(qm("start", String(id)).code).toBe(0);
    const pid = pidOf(id);
    expect(qm("suspend", String(id)).code).toBe(0);
    expect(qm("status", String(id)).stdout).toBe("status: paused\n");
    expect(qm("status", String(id), "--verbose").stdout).toMatch(/^qmpstatus: paused$/m); // QMP query-status
    expect(readProcStat(pid)?.state).not.toBe("T"); // QMP `stop` halts the vCPUs, not the process
    expect(qm("shutdown", String(id))).toMatchObject({ code: 255, stderr: "VM is paused - cannot shutdown\n" });
    expect(qm("resume", String(id)).code).toBe(0);
    expect(qm("status", String(id)).stdout).toBe("status: running\n");
    expect(qm("stop", String(id)).code).toBe(0);
    expect(qm("suspend", String(id))).toMatchObject({ code: 255, stderr: `VM ${id} not running\n` });
  });

  it("locks, templates and cloud-init snippets are checked at start", () => {
    const id = newId();
    expect(makeVm(id, "--cicustom", "user=local:snippets/u.yaml").code).toBe(0);
    expect(qm("set", String(id), "--lock", "backup").code).toBe(0);
    expect(qm("start", String(id))).toMatchObject({ code: 255, stderr: "VM is locked (backup)\n" });
    expect(qm("unlock", String(id))).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(qm("start", String(id))).toMatchObject({ code: 255, stderr: "can't find file 'local:snippets/u.yaml'\n" });
    expect(qm("set", String(id), "--cicustom", "user=local:iso/u.iso").code).toBe(0);
    expect(qm("start", String(id))).toMatchObject({ code: 255, stderr: "local:iso/u.iso is not in the snippets directory\n" });
    writeFileSync(join(root, "var/lib/vz/snippets/u.yaml"), "#cloud-config\n");
    expect(qm("set", String(id), "--cicustom", "user=local:snippets/u.yaml").code).toBe(0);
    expect(qm("template", String(id)).code).toBe(0);
    expect(qm("start", String(id))).toMatchObject({ code: 255, stderr: "you can't start a vm if it's a template\n" });
  });
});

describe("qm on a VM that does not exist, destroy, nextid", () => {
  it.each([
    [["status", "999"], 2, "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n"],
    [["config", "999"], 2, "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n"],
    [["destroy", "999"], 2, "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n"],
    [["stop", "999"], 255, "unable to find configuration file for VM 999 on node 'pve'\n"],
    [["start", "999"], 255, "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n"],
    [["frobnicate", "999"], 255, /^ERROR: unknown command 'qm frobnicate'\nUSAGE: qm <COMMAND> \[ARGS\] \[OPTIONS\]\n/],
  ])("qm %j", (args, code, stderr) => {
    const r = qm(...args);
    expect(r.code).toBe(code);
    if (stderr instanceof RegExp) expect(r.stderr).toMatch(stderr);
    else expect(r.stderr).toBe(stderr);
  });

  it("destroy --purge removes disks and config last; nextid skips VM ids too", () => {
    const id = newId();
    expect(makeVm(id).code).toBe(0);
    expect(run(PVESH, ["get", "/cluster/nextid", "--vmid", String(id)])).toMatchObject({ code: 255, stderr: expect.stringContaining(`vmid: VM ${id} already exists`) });
    expect(qm("destroy", String(id), "--purge")).toEqual({ code: 0, stdout: `purging VM ${id} from related configurations..\n`, stderr: "" });
    expect(existsSync(join(root, "etc/pve/qemu-server", `${id}.conf`))).toBe(false);
    expect(existsSync(join(root, "var/lib/ctstore/images", String(id)))).toBe(false);
  });
});
