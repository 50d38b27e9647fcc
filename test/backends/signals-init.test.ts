import { describe, expect, it } from "vitest";
import { foregroundSignalsInit, signalsInitItself } from "../../src/backends/registry.js";
import type { BackendName, Status } from "../../src/names.js";

describe("signalsInitItself: which kills skip the runtime", () => {
  it.each<[BackendName, Status, boolean, number, boolean]>([
    ["crun", "running", false, 4242, true],
    ["crun", "created", false, 4242, true],
    ["runc", "running", false, 4242, true],
    ["runc", "created", false, 4242, true],
    // the whole cgroup: the runtime's job
    ["crun", "running", true, 4242, false],
    ["runc", "running", true, 4242, false],
    // paused: runc thaws for SIGKILL
    ["crun", "paused", false, 4242, false],
    ["runc", "paused", false, 4242, false],
    // no init to signal
    ["crun", "running", false, 0, false],
    ["crun", "stopped", false, 4242, false],
    ["crun", "creating", false, 4242, false],
    // guests are not host processes
    ["proxmox-lxc", "running", false, 4242, false],
    ["proxmox-vm", "running", false, 4242, false],
  ])("%s %s all=%s pid=%d -> %s", (backend, status, all, pid, expected) => {
    expect(signalsInitItself(backend, { pid }, status, all)).toBe(expected);
  });
});

describe("foregroundSignalsInit: where run in the foreground sends its signals", () => {
  it.each<[BackendName, boolean]>([
    ["crun", true],
    ["runc", true],
    // a CT's init and a VM's QEMU: through the backend's kill (a VM's SIGTERM/SIGINT is a clean shutdown, not QEMU's end)
    ["proxmox-lxc", false],
    ["proxmox-vm", false],
  ])("%s -> to the init's host pid: %s", (backend, expected) => {
    expect(foregroundSignalsInit(backend)).toBe(expected);
  });
});
