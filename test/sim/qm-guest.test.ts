// The qm stand-in with a guest that boots: the Debian guest image (test/sim/guest) imported as
// Proxmox imports a cloud image, started on a real QEMU; its NoCloud drive, the real
// qemu-guest-agent behind `qm guest exec|exec-status|cmd` (proxmox-cli.md §3.7) and an ACPI /
// agent shutdown the guest really performs. One guest for the whole file (it costs a minute or two
// of CPU under TCG).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureGuestImage, guestAccel } from "./guest/image.js";

const QM = join(import.meta.dirname, "bin", "qm");
const root = mkdtempSync("/tmp/pve-sim-qg-");
const VMID = 760_000 + (process.pid % 1000) * 10;
const NOAGENT = VMID + 1;
const accel = await guestAccel();

function qm(...args: string[]) {
  const r = spawnSync(QM, args, { env: { ...process.env, PVE_SIM_ROOT: root }, encoding: "utf8", timeout: 180_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const USER_DATA = '#cloud-config\nhostname: "qm-guest"\nruncmd:\n  - ["sh", "-c", "echo ran > /run/runcmd-ok"]\n';

beforeAll(async () => {
  const image = await ensureGuestImage();
  expect(qm("list").code).toBe(0);
  mkdirSync(join(root, "var/lib/vz/snippets"), { recursive: true });
  writeFileSync(join(root, "var/lib/vz/snippets/qg.yaml"), USER_DATA);
  const made = qm("create", String(VMID), "--name", "qg", "--memory", "512", "--agent", "1", "--net0", "virtio,bridge=vmbr0", "--scsihw", "virtio-scsi-pci", "--scsi0", `ctstore:0,import-from=${image}`, "--ide2", "ctstore:cloudinit", "--boot", "order=scsi0", "--serial0", "socket", "--cicustom", "user=local:snippets/qg.yaml");
  expect(made.code, made.stderr).toBe(0);
  expect(qm("create", String(NOAGENT), "--name", "noagent", "--memory", "64").code).toBe(0);
  expect(qm("start", String(VMID))).toEqual({ code: 0, stdout: "", stderr: "" });
  // the agent answers once the guest has booted (udev starts it when its virtio port appears)
  for (let i = 0; i < 120 && qm("guest", "cmd", String(VMID), "ping").code !== 0; i++) await sleep(2000);
}, 600_000);

afterAll(() => {
  for (const id of [VMID, NOAGENT]) {
    qm("stop", String(id));
    qm("destroy", String(id), "--purge");
  }
  rmSync(root, { recursive: true, force: true });
});

describe(`qm with a booted guest (${accel})`, () => {
  it("cloudinit dump: the cicustom user-data verbatim, meta-data with only the instance-id, network-config v1 from net0", () => {
    expect(qm("cloudinit", "dump", String(VMID), "user")).toEqual({ code: 0, stdout: USER_DATA, stderr: "" });
    expect(qm("cloudinit", "dump", String(VMID), "meta").stdout).toMatch(/^instance-id: [0-9a-f]{40}\n$/);
    const mac = /net0: virtio=([0-9A-F:]+)/.exec(qm("config", String(VMID)).stdout)![1]!.toLowerCase();
    expect(qm("cloudinit", "dump", String(VMID), "network").stdout).toBe(`version: 1\nconfig:\n    - type: physical\n      name: eth0\n      mac_address: '${mac}'\n      subnets:\n      - type: dhcp4\n`);
  });

  it("guest cmd ping answers {}; the guest ran cloud-init from the NoCloud drive (hostname, runcmd)", async () => {
    expect(qm("guest", "cmd", String(VMID), "ping")).toEqual({ code: 0, stdout: "{}\n", stderr: "" });
    // runcmd is cloud-init's last stage: it may still be ahead when the agent is up
    const inGuest = () => JSON.parse(qm("guest", "exec", String(VMID), "--", "/bin/sh", "-c", "hostname; cat /run/runcmd-ok 2>/dev/null").stdout)["out-data"];
    let out = inGuest();
    for (let i = 0; i < 90 && out !== "qm-guest\nran\n"; i++) {
      await sleep(2000);
      out = inGuest();
    }
    expect(out).toBe("qm-guest\nran\n");
  }, 240_000);

  it("guest exec prints Proxmox's JSON (3-space indent, sorted, output decoded) and exits 0 whatever the command's status", () => {
    const r = qm("guest", "exec", String(VMID), "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{\n   "err-data" : "err\\n",\n   "err-truncated" : 0,\n   "exitcode" : 3,\n   "exited" : 1,\n   "out-data" : "out\\n",\n   "out-truncated" : 0\n}\n');
  });

  it("guest exec --synchronous 0 returns the guest pid; exec-status reports it running, then its exit", async () => {
    const r = qm("guest", "exec", String(VMID), "--synchronous", "0", "--", "/bin/sleep", "3");
    const pid = JSON.parse(r.stdout).pid as number;
    expect(r.stdout).toBe(`{\n   "pid" : ${pid}\n}\n`);
    expect(JSON.parse(qm("guest", "exec-status", String(VMID), String(pid)).stdout)).toEqual({ exited: 0 });
    let status: Record<string, unknown> = {};
    for (let i = 0; i < 30 && status["exited"] !== 1; i++) {
      await sleep(1000);
      status = JSON.parse(qm("guest", "exec-status", String(VMID), String(pid)).stdout);
    }
    expect(status).toMatchObject({ exited: 1, exitcode: 0 });
  });

  it("agent errors: a missing program, no agent configured, a VM that is not running", () => {
    const missing = qm("guest", "exec", String(VMID), "--", "/nonexistent");
    expect(missing.code).toBe(255);
    expect(missing.stderr).toMatch(/^Agent error: .*\/nonexistent.*No such file or directory.*\n$/);
    expect(qm("guest", "cmd", String(NOAGENT), "ping")).toEqual({ code: 255, stdout: "", stderr: "No QEMU guest agent configured\n" });
    expect(qm("set", String(NOAGENT), "--agent", "1").code).toBe(0);
    expect(qm("guest", "cmd", String(NOAGENT), "ping")).toEqual({ code: 255, stdout: "", stderr: `VM ${NOAGENT} is not running\n` });
  });

  it("shutdown: the guest powers itself off (through the agent, agent: 1) and QEMU exits", () => {
    expect(qm("shutdown", String(VMID), "--timeout", "180")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(qm("status", String(VMID)).stdout).toBe("status: stopped\n");
    expect(qm("guest", "cmd", String(VMID), "ping")).toEqual({ code: 255, stdout: "", stderr: `VM ${VMID} is not running\n` });
  });
});
