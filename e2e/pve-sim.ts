import { join } from "node:path";
import { REPO } from "./helpers.js";

/** The pct/pvesh stand-in's executables (test/sim). */
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
