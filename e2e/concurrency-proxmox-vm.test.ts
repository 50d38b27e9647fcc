import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configIsFor } from "../src/backends/proxmox/guest-names.js";
import { makeBundle, nexcage, tempDir, rootEntries } from "./helpers.js";
import { pveVmSimSuite } from "./pve-sim.js";
import { expectRaceFailuresKnown, expectRaceLeftOneGuest, raceOps } from "./race-harness.js";

/**
 * proxmox-vm under concurrency, through the qm stand-in (each running VM a real `kvm` process):
 * 20 containers at once get 20 different VMIDs and 20 QEMU processes, and go away; 20 racing
 * operations on one id never corrupt its record or leave a VM, kvm process or snippet behind;
 * every failure is one clear line.
 */
const { cleanup, sim } = pveVmSimSuite();

/** 20 in CI (2-core runner); NEXCAGE_E2E_PVE_PARALLEL=50 for the full run (the stand-in's block holds 91 VMIDs). */
const PARALLEL = Number(process.env["NEXCAGE_E2E_PVE_PARALLEL"] || 20);

const configOf = (v: number) => {
  try {
    return readFileSync(join(sim.confDir, `${v}.conf`), "utf8");
  } catch {
    return ""; // destroyed meanwhile
  }
};

describe("concurrency (proxmox-vm)", () => {
  const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));

  it(`${PARALLEL} containers run at once: ${PARALLEL} distinct VMIDs and kvm processes, all running, then deleted at once: no VM, kvm, snippet or record left`, async () => {
    const root = cleanup.dir(tempDir("vm-c20"));
    const n = (args: string[]) => nexcage(root, args, { config: sim.config, env: sim.env, timeoutMs: 600_000 });
    const ids = Array.from({ length: PARALLEL }, (_, i) => cleanup.nexcage(root, `vm-c20-${i}`));
    const results = await Promise.all(ids.map((id) => n(["run", "-d", "-b", bundle, id])));
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const vmids = ids.map((id) => sim.vmidOf(root, id));
    expect(new Set(vmids).size).toBe(PARALLEL);
    expect(sim.vms().sort()).toEqual([...vmids].sort());
    for (const [i, v] of vmids.entries()) expect(configOf(v), `VM ${v}`).toSatisfy((conf: string) => configIsFor(conf, ids[i]!));
    expect(sim.kvms().sort()).toEqual([...vmids].sort());
    expect(sim.snippets().filter((f) => f.includes("vm-c20-"))).toHaveLength(PARALLEL);
    const listed = JSON.parse((await n(["list", "-f", "json"])).stdout) as Array<{ id: string; status: string; pid: number }>;
    expect(listed.map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(listed.filter((s) => s.status !== "running")).toEqual([]);
    expect(new Set(listed.map((s) => s.pid)).size).toBe(PARALLEL);
    const deleted = await Promise.all(ids.map((id) => n(["delete", "--force", id])));
    expect(deleted.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(rootEntries(root)).toEqual([]);
    expect(sim.vms()).toEqual([]);
    expect(sim.kvms()).toEqual([]);
    expect(sim.snippets().filter((f) => f.includes("vm-c20-"))).toEqual([]);
  }, 600_000);

  it("20 racing operations on one id: the record is never corrupt, each call succeeds or says why in one line, nothing left", async () => {
    const root = cleanup.dir(tempDir("vm-race"));
    const n = (args: string[]) => nexcage(root, args, { config: sim.config, env: sim.env, timeoutMs: 300_000 });
    const id = cleanup.nexcage(root, "vm-race");
    const ours = () => sim.vms().filter((v) => configIsFor(configOf(v), id));
    const ops = raceOps(bundle, id);
    const results = await Promise.all(ops.map((args) => n(args)));
    expectRaceFailuresKnown(ops, results, id);
    await expectRaceLeftOneGuest(n, root, id, ours);
    expect(sim.kvms()).toEqual([]);
    expect(sim.snippets().filter((f) => f.includes("vm-race"))).toEqual([]);
  }, 300_000);
});
