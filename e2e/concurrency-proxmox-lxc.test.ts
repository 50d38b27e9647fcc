import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configIsFor } from "../src/backends/proxmox-lxc/plan.js";
import { makeBundle, nexcage, tempDir, rootEntries } from "./helpers.js";
import { pveSimSuite } from "./pve-sim.js";
import { expectRaceFailuresKnown, expectRaceLeftOneGuest, raceOps } from "./race-harness.js";

/**
 * proxmox-lxc under concurrency, through the pct stand-in on real LXC: 50 containers at once get 50
 * different VMIDs, run, and go away; 20 racing operations on one id never corrupt its record or
 * leave a CT behind; every failure is one clear line.
 */
const { cleanup, sim } = pveSimSuite();

/** 20 in CI (each container costs about 6 node processes on a 2-core runner); NEXCAGE_E2E_PVE_PARALLEL=50 for the full run. */
const PARALLEL = Number(process.env["NEXCAGE_E2E_PVE_PARALLEL"] || 20);

describe("concurrency (proxmox-lxc)", () => {
  const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
  chmodSync(bundle, 0o755);

  it(`${PARALLEL} containers run at once: ${PARALLEL} distinct VMIDs, all running, then deleted at once: no CT, template or record left`, async () => {
    const root = cleanup.dir(tempDir("pve-c50"));
    const n = (args: string[]) => nexcage(root, args, { config: sim.config, env: sim.env, timeoutMs: 600_000 });
    const ids = Array.from({ length: PARALLEL }, (_, i) => cleanup.nexcage(root, `pve-c50-${i}`));
    const results = await Promise.all(ids.map((id) => n(["run", "-d", "-b", bundle, id])));
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const vmids = ids.map((id) => sim.vmidOf(root, id));
    expect(new Set(vmids).size).toBe(PARALLEL);
    expect(sim.cts().sort()).toEqual([...vmids].sort());
    for (const [i, v] of vmids.entries()) {
      expect(readFileSync(join(sim.confDir, `${v}.conf`), "utf8"), `CT ${v}`).toSatisfy((conf: string) => configIsFor(conf, ids[i]!));
    }
    const listed = JSON.parse((await n(["list", "-f", "json"])).stdout) as Array<{ id: string; status: string; pid: number }>;
    expect(listed.map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(listed.filter((s) => s.status !== "running")).toEqual([]);
    expect(new Set(listed.map((s) => s.pid)).size).toBe(PARALLEL);
    const deleted = await Promise.all(ids.map((id) => n(["delete", "--force", id])));
    expect(deleted.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(rootEntries(root)).toEqual([]);
    expect(sim.cts()).toEqual([]);
    expect(sim.templates().filter((t) => t.includes("pve-c50"))).toEqual([]);
  }, 600_000);

  it("a vmidRange whose first 30 VMIDs are taken by VMs on another node: the create walks the whole range", async () => {
    const root = cleanup.dir(tempDir("pve-taken"));
    const n = (args: string[]) => nexcage(root, args, { config: sim.config, env: sim.env, timeoutMs: 300_000 });
    const other = join(sim.simRoot, "etc/pve/nodes/other/qemu-server");
    mkdirSync(other, { recursive: true });
    try {
      for (let v = sim.base; v < sim.base + 30; v++) writeFileSync(join(other, `${v}.conf`), "memory: 512\n");
      const id = cleanup.nexcage(root, "pve-taken");
      const r = await n(["create", "-b", bundle, id]);
      expect(r, r.stderr).toMatchObject({ code: 0 });
      expect(sim.vmidOf(root, id)).toBe(sim.base + 30);
      expect((await n(["delete", id])).code).toBe(0);
    } finally {
      rmSync(join(sim.simRoot, "etc/pve/nodes/other"), { recursive: true, force: true });
    }
  }, 300_000);

  it("20 racing operations on one id: the record is never corrupt, each call succeeds or says why in one line, nothing left", async () => {
    const root = cleanup.dir(tempDir("pve-race"));
    const n = (args: string[]) => nexcage(root, args, { config: sim.config, env: sim.env, timeoutMs: 300_000 });
    const id = cleanup.nexcage(root, "pve-race");
    const ours = () => sim.cts().filter((v) => configIsFor(readFileSync(join(sim.confDir, `${v}.conf`), "utf8"), id));
    const ops = raceOps(bundle, id);
    const results = await Promise.all(ops.map((args) => n(args)));
    expectRaceFailuresKnown(ops, results, id);
    await expectRaceLeftOneGuest(n, root, id, ours);
    expect(sim.templates().filter((t) => t.includes("pve-race"))).toEqual([]);
  }, 300_000);
});
