import { describe, expect, it } from "vitest";
import { withFreeVmid } from "../../../src/backends/proxmox/vmid.js";

const taken = new Error("taken");
const isTaken = (e: unknown) => e === taken;

describe("VMID allocation shared by the Proxmox backends", () => {
  it("a range is tried in order until a VMID is not taken", async () => {
    const tried: number[] = [];
    const v = await withFreeVmid({ range: { min: 500, max: 510 }, nextId: async () => "999" }, async (c) => {
      tried.push(c);
      if (c < 503) throw taken;
    }, isTaken);
    expect(v).toBe(503);
    expect(tried).toEqual([500, 501, 502, 503]);
  });

  it("an exhausted range says which", async () => {
    await expect(withFreeVmid({ range: { min: 500, max: 501 }, nextId: async () => "999" }, async () => { throw taken; }, isTaken)).rejects.toThrow("create failed: no free VMID in 500-501");
  });

  it("without a range each try asks nextid again (it reserves nothing), accepting a JSON string", async () => {
    const answers = ["100\n", '"101"', "102"];
    const v = await withFreeVmid({ nextId: async () => answers.shift()! }, async (c) => {
      if (c !== 102) throw taken;
    }, isTaken);
    expect(v).toBe(102);
  });

  it("gives up after maxTries and passes any other failure through at once", async () => {
    let n = 100;
    await expect(withFreeVmid({ nextId: async () => String(n++) }, async () => { throw taken; }, isTaken, 3)).rejects.toBe(taken);
    expect(n).toBe(103);
    const other = new Error("storage gone");
    await expect(withFreeVmid({ nextId: async () => "100" }, async () => { throw other; }, isTaken)).rejects.toBe(other);
  });

  it("nextid printing something else is an error, not a VMID", async () => {
    await expect(withFreeVmid({ nextId: async () => "unable to get any free VMID in range [100, 1000000]" }, async () => undefined, isTaken)).rejects.toThrow(/pvesh printed no VMID/);
  });
});
