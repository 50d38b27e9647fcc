import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { guestProbe, startMarked, startedMarker } from "../../../src/backends/proxmox/guest-probe.js";
import type { Handle } from "../../../src/backends/contract.js";
import type { Status } from "../../../src/names.js";

const dir = mkdtempSync(join(tmpdir(), "guest-probe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rec(status: Status): Handle<{ vmid: number }> {
  return { id: "c", dir, status, pid: 0, ref: { vmid: 100 } };
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

  it("the marker lives in the container's own directory, whatever the ref holds", () => {
    expect(startedMarker({ dir: "/run/nexcage/c" }, "x.started")).toBe("/run/nexcage/c/x.started");
  });
});
