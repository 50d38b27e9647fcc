import { describe, expect, it } from "vitest";
import { descriptor } from "../../src/backends/registry.js";
import { refMisplaced } from "../../src/state/record-ref.js";
import type { ContainerRecord } from "../../src/state/record.js";

const rec = (backend: ContainerRecord["nexcage"]["backend"], ref: Record<string, unknown>): ContainerRecord => ({
  ociVersion: "1.0.2",
  id: "c1",
  status: "running",
  pid: 5,
  bundle: "/b",
  rootfs: "/b/rootfs",
  created: "t",
  owner: "root",
  nexcage: { backend, ref, routeReason: "r", configSource: "s" },
});

describe("refMisplaced: delete --force follows a ref only when it names the container's own runtime root", () => {
  it.each([
    ["crun", { root: "/run/nexcage/c1/crun" }, false],
    ["runc", { root: "/run/nexcage/c1/runc" }, false],
    ["crun", {}, true],
    ["crun", { root: 5 }, true],
    ["crun", { root: "/run/runc" }, true],
    ["crun", { root: "/run/nexcage/c1/runc" }, true],
    ["runc", { root: "/run/nexcage/c1/../c2/runc" }, true],
    ["proxmox-lxc", { vmid: 100 }, false],
    ["proxmox-vm", {}, false],
  ] as const)("%s %j → %s", (backend, ref, misplaced) => {
    expect(refMisplaced(rec(backend, ref), "/run/nexcage/c1", descriptor(backend).runtimeRoot)).toBe(misplaced);
  });
});
