import { describe, expect, it } from "vitest";
import { parseNextId, parseStatus } from "../../../src/backends/proxmox/pve-output.js";

describe("pct/qm status --verbose", () => {
  it("top-level keys only: qm's nested hashes (TAB-indented) never override them", () => {
    const text = "cpus: 1\nname: app\nnics:\n\ttap100i0:\n\t\tnetin: 0\n\t\tpid: 999\npid: 4242\nproxmox-support:\n\tpbs-masterkey: 1\nqmpstatus: paused\nstatus: running\n";
    expect(parseStatus(text)).toEqual({ cpus: "1", name: "app", nics: "", pid: "4242", "proxmox-support": "", qmpstatus: "paused", status: "running" });
  });

  it.each([
    ["100\n", 100],
    ['"4242"', 4242],
    ["99", undefined],
    ["1000000000", undefined],
    ["unable to get any free VMID in range [100, 1000000]", undefined],
  ])("nextid %j → %j", (text, id) => expect(parseNextId(text)).toBe(id));
});
