import { chmodSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../src/exec/run.js";
import { afterAll, beforeAll, expect } from "vitest";
import { Cleanup, configFile, REPO, tempDir } from "./helpers.js";

/** The pct/pvesh/qm stand-in's executables (test/sim). */
export const SIM = join(REPO, "test", "sim", "bin");

/** backends."proxmox-lxc" settings for the stand-in rooted at `simRoot`, with a block of 100 VMIDs from `vmidBase`. */
export function simLxcSettings(simRoot: string, vmidBase: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pct: join(SIM, "pct"),
    pvesh: join(SIM, "pvesh"),
    storage: "ctstore",
    rootfsSizeGiB: 1,
    templateDir: join(simRoot, "var/lib/vz/template/cache"),
    confDir: join(simRoot, "etc/pve/lxc"),
    lockDir: join(simRoot, "run/lock/lxc"),
    vmidRange: { min: vmidBase, max: vmidBase + 99 },
    ...over,
  };
}

/**
 * A private Proxmox stand-in (test/sim: pct and pvesh on real LXC) for one e2e file: its own
 * simulated host root and a block of 100 VMIDs of its own (VMIDs name host-wide cgroups and veths).
 */
export function pveSim(cleanup: Cleanup) {
  const simRoot = cleanup.dir(tempDir("pve"));
  chmodSync(simRoot, 0o755); // unprivileged CTs need every directory above their rootfs searchable
  const env = { PVE_SIM_ROOT: simRoot };
  const base = 830_000_000 + (process.pid % 10_000) * 100;
  const confDir = join(simRoot, "etc/pve/lxc");
  const templateDir = join(simRoot, "var/lib/vz/template/cache");
  const settings = (over: Record<string, unknown> = {}) => ({
    defaultBackend: "proxmox-lxc",
    backends: { "proxmox-lxc": simLxcSettings(simRoot, base, over) },
  });
  const pct = (args: string[]) => run(join(SIM, "pct"), args, { env: { ...process.env, PVE_SIM_ROOT: simRoot }, timeoutMs: 120_000 });
  return {
    simRoot,
    env,
    base,
    confDir,
    templateDir,
    settings,
    config: configFile(settings()),
    pct,
    vmidOf: (root: string, id: string) => JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")).nexcage.ref.vmid as number,
    templates: () => readdirSync(templateDir),
    /** CT configs present, as VMIDs. */
    cts: () => readdirSync(confDir).filter((f) => f.endsWith(".conf")).map((f) => Number(f.slice(0, -5))),
    /** The stand-in lays out storage.cfg and the storages' directories on its first call, as a Proxmox node has them. */
    init: async () => (await pct(["list"])).exitCode,
    /** Whatever a failed test left: every CT in this file's block, by VMID. */
    destroyAll: async () => {
      for (let v = base; v <= base + 99; v++) {
        if (existsSync(join(confDir, `${v}.conf`))) await pct(["destroy", String(v), "--force", "--purge"]);
      }
    },
  };
}

/**
 * An e2e file's Cleanup and stand-in, with the hooks every such file needs: the stand-in laid out
 * before the tests, and after them the file's containers deleted and any CT left in its block destroyed.
 */
export function pveSimSuite() {
  const cleanup = new Cleanup();
  const sim = pveSim(cleanup);
  beforeAll(async () => {
    expect(await sim.init()).toBe(0);
  });
  afterAll(async () => {
    await cleanup.run();
    await sim.destroyAll();
  }, 600_000);
  return { cleanup, sim };
}
