import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock } from "../src/state/lock.js";
import { Cleanup, configFile, makeBundle, nexcage, nexcageMessage, tempDir, rootEntries } from "./helpers.js";

/** Operators and containerd call nexcage concurrently: no lost or corrupt record, every failure a clear line. */
const cleanup = new Cleanup();
// crun names cgroups after the id: ids of this run's own, so that two test runs on one machine do not meet
const RUN = process.pid.toString(36);
afterAll(() => cleanup.run(), 300_000);


describe("concurrency (crun backend)", () => {
  it("50 containers created and started at once, then deleted at once: none lost, none left", async () => {
    const root = cleanup.dir(tempDir("c50"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const ids = Array.from({ length: 50 }, (_, i) => cleanup.nexcage(root, `c50-${RUN}-${i}`));
    const results = await Promise.all(ids.map((id) => nexcage(root, ["run", "-d", "-b", bundle, id])));
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const listed = JSON.parse((await nexcage(root, ["list", "-f", "json"])).stdout) as Array<{ id: string; status: string }>;
    expect(listed.map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(listed.every((s) => s.status === "running")).toBe(true);
    const deleted = await Promise.all(ids.map((id) => nexcage(root, ["delete", "--force", id])));
    expect(deleted.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(rootEntries(root)).toEqual([]);
  }, 300_000);

  it("20 racing operations on one id: the record is never corrupt, each call succeeds or says why in one line", async () => {
    const root = cleanup.dir(tempDir("race20"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `race-${RUN}`);
    const ops: string[][] = [
      ["create", "-b", bundle, id], ["start", id], ["state", id], ["kill", id, "KILL"], ["pause", id],
      ["resume", id], ["delete", id], ["create", "-b", bundle, id], ["state", id], ["start", id],
      ["kill", id, "TERM"], ["delete", "--force", id], ["create", "-b", bundle, id], ["start", id], ["state", id],
      ["ps", "-f", "json", id], ["kill", "--all", id, "KILL"], ["state", id], ["delete", "--force", id], ["create", "-b", bundle, id],
    ];
    const results = await Promise.all(ops.map((args) => nexcage(root, args)));
    for (const [i, r] of results.entries()) {
      if (r.code !== 0) {
        expect(r.stderr.trim().split("\n"), `${ops[i]!.join(" ")}: ${r.stderr}`).toHaveLength(1);
        expect(nexcageMessage(r.stderr)).toMatch(
          new RegExp(
            `^(container does not exist|container with given ID already exists|container not running|container not paused|cannot start an already running container|cannot start a container that has stopped|cannot start a container in the (paused|creating) state|cannot delete container ${id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} that is not stopped: (running|paused)|cannot exec in a (paused|stopped) container|[a-z]+ failed: .+)$`,
          ),
        );
      }
    }
    // whatever order they ran in, the record left is readable and agrees with crun
    const state = await nexcage(root, ["state", id]);
    if (state.code === 0) {
      const s = JSON.parse(state.stdout);
      expect(["created", "running", "paused", "stopped"]).toContain(s.status);
      expect(JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")).id).toBe(id);
    } else {
      expect(nexcageMessage(state.stderr)).toBe("container does not exist");
    }
    await nexcage(root, ["resume", id]);
    expect((await nexcage(root, ["delete", "--force", id])).code).toBe(0);
    expect(rootEntries(root)).toEqual([]);
  }, 300_000);

  it("ps waits for the id's lock like every other operation", async () => {
    const root = cleanup.dir(tempDir("pslock"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `pslock-${RUN}`);
    expect((await nexcage(root, ["run", "-d", "-b", bundle, id])).code).toBe(0);
    const config = configFile({ lockTimeoutSeconds: 1 });
    const held = await acquireLock(realpathSync(root), id, 10_000);
    let busy;
    try {
      busy = await nexcage(root, ["ps", "-f", "json", id], { config });
    } finally {
      await held.release();
    }
    expect(busy.code).toBe(1);
    expect(nexcageMessage(busy.stderr)).toBe(`container ${id} is busy: another nexcage operation holds it`);
    const ps = await nexcage(root, ["ps", "-f", "json", id], { config });
    expect(ps.code, ps.stderr).toBe(0);
    const init = Number(readFileSync(join(root, id, "init.pid"), "utf8"));
    expect(JSON.parse(ps.stdout)).toContain(init);
  });

  it("ps racing delete --force: ps lists the processes or says the container is gone, the runtime never crashes", async () => {
    const root = cleanup.dir(tempDir("psdel"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    for (let i = 0; i < 10; i++) {
      const id = cleanup.nexcage(root, `psdel-${RUN}-${i}`);
      expect((await nexcage(root, ["run", "-d", "-b", bundle, id])).code).toBe(0);
      const [ps, del] = await Promise.all([nexcage(root, ["ps", "-f", "json", id]), nexcage(root, ["delete", "--force", id])]);
      expect(del.code, del.stderr).toBe(0);
      if (ps.code !== 0) expect(nexcageMessage(ps.stderr)).toMatch(/^(container does not exist|container not running)$/);
    }
    expect(rootEntries(root)).toEqual([]);
  }, 120_000);
});
