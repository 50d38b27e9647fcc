import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { guestProbe, startMarked, startedMarker } from "../../../src/backends/proxmox/guest-probe.js";
import type { ContainerRecord } from "../../../src/state/record.js";

const dir = mkdtempSync(join(tmpdir(), "guest-probe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rec(status: ContainerRecord["status"], ref: Record<string, unknown> = { vmid: 100, dir }): ContainerRecord {
  return {
    ociVersion: "1.0.2", id: "c", status, pid: 0, bundle: "/b", rootfs: "/b/rootfs", created: "", owner: "root",
    nexcage: { backend: "proxmox-vm", ref, routeReason: "defaultBackend", configSource: "defaults" },
  } as ContainerRecord;
}

describe("guestProbe", () => {
  it.each([
    ["created, guest stopped, never started", "created", { running: false, pid: 0 }, "created"],
    ["created, guest stopped after a crashed start", "created", { running: false, pid: 0, startedBefore: true }, "stopped"],
    ["created, guest running (a start crashed before recording it)", "created", { running: true, pid: 4242 }, "running"],
    ["running, guest stopped", "running", { running: false, pid: 0 }, "stopped"],
    ["running, guest running another process (restarted outside nexcage)", "running", { running: true, pid: 1 }, "stopped"],
  ] as const)("%s → %s", (_name, status, guest, want) => {
    expect(guestProbe(rec(status), guest).status).toBe(want);
  });
});

describe("startMarked", () => {
  it("leaves the marker when the start succeeds, so a later probe knows a start was begun", async () => {
    const r = rec("created");
    await startMarked(r, "vm.started", async () => {
      expect(existsSync(join(dir, "vm.started"))).toBe(true); // written before the start runs
    });
    expect(startedMarker(r, "vm.started")).toBe(join(dir, "vm.started"));
    expect(existsSync(join(dir, "vm.started"))).toBe(true);
  });

  it("removes the marker when the start fails, and rethrows", async () => {
    await expect(startMarked(rec("created"), "failed.started", () => Promise.reject(new Error("start failed: locked")))).rejects.toThrow("start failed: locked");
    expect(existsSync(join(dir, "failed.started"))).toBe(false);
  });

  it("a ref without dir (records made before the marker existed): no marker, the start still runs", async () => {
    let ran = false;
    await startMarked(rec("created", { vmid: 100 }), "x.started", async () => void (ran = true));
    expect(ran).toBe(true);
    expect(startedMarker(rec("created", { vmid: 100 }), "x.started")).toBeUndefined();
  });
});
