import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CRASH_POINTS } from "../src/crash-point.js";
import { configIsFor } from "../src/backends/proxmox/guest-names.js";
import { type CrashCase } from "./crash-harness.js";
import { makeBundle, tempDir } from "./helpers.js";
import { guestCrashCase, pveVmSimSuite, textOr } from "./pve-sim.js";

/**
 * Crash consistency for proxmox-vm through the qm stand-in (each running VM a real `kvm` process):
 * nexcage killed with SIGKILL at each of its steps, then the checks of e2e/crash-harness.ts, plus:
 * no VM config, no kvm process and no cloud-init snippet of the container is left.
 */
const { cleanup, sim } = pveVmSimSuite();

const CASES: readonly CrashCase[] = [
  { at: "create:record-creating", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-vm:intent-written", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-vm:snippet-written", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-vm:vmid-chosen", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-vm:vm-created", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-vm:vm-configured", setup: "none", op: "create", after: "stopped" },
  { at: "create:record-created", setup: "none", op: "create", after: "created" },
  { at: "proxmox-vm:vm-started", setup: "created", op: "start", after: "running" },
  { at: "start:backend-started", setup: "created", op: "start", after: "running" },
  { at: "kill:backend-killed", setup: "running", op: "kill", after: "stopped" },
  { at: "proxmox-vm:vm-destroyed", setup: "running", op: "delete", after: "stopped" },
  { at: "delete:backend-deleted", setup: "running", op: "delete", after: "stopped" },
];

it("every proxmox-vm crash point has a case", () => {
  const covered = new Set(CASES.map((c) => c.at));
  expect(CRASH_POINTS.filter((p) => p.startsWith("proxmox-vm:") && !covered.has(p))).toEqual([]);
});

describe("proxmox-vm: kill -9 at each step", () => {
  const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));

  it.concurrent.each(CASES.map((c, i) => ({ ...c, i })))("$op crashed at $at: state says $after, list agrees, delete --force leaves no VM, kvm or snippet", async (c) => {
    const root = cleanup.dir(tempDir("crash-vm"));
    const id = cleanup.nexcage(root, `crash-vm-${c.i}`);
    await guestCrashCase(c, {
      root,
      id,
      bundle,
      config: sim.config,
      env: sim.env,
      intentFile: "proxmox-vm.json",
      status: (vmid) => sim.qm(["status", String(vmid), "--verbose"]),
      leftovers: (vmid) => [
        // VMs of other cases may have taken the VMID this create had chosen: only its own count
        ...sim.vms().filter((v) => configIsFor(textOr(join(sim.confDir, `${v}.conf`)), id)).map((v) => `VM ${v}`),
        ...(vmid !== undefined ? sim.kvms().filter((v) => v === vmid).map((v) => `QEMU of VM ${v}`) : []),
        ...sim.snippets().filter((f) => f.includes(id)),
      ],
    });
  });
});
