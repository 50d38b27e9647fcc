import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { RO_NODE } from "./paths.js";

/**
 * The libcrun driver only runs from a read-only executable (CVE-2019-5736, see
 * src/backends/crun/exe-guard.ts): bind-mount this node read-only at RO_NODE for the e2e suites.
 */
function mounted(path: string): boolean {
  try {
    execFileSync("mountpoint", ["-q", path]);
    return true;
  } catch {
    return false;
  }
}

export function setup(): void {
  // the workers inherit this, so they all use this run's mount
  process.env["NEXCAGE_E2E_RO_NODE"] = RO_NODE;
  mkdirSync(dirname(RO_NODE), { recursive: true });
  if (!existsSync(RO_NODE)) writeFileSync(RO_NODE, "");
  if (!mounted(RO_NODE)) {
    execFileSync("mount", ["--bind", realpathSync(process.execPath), RO_NODE]);
    execFileSync("mount", ["-o", "remount,bind,ro", RO_NODE]);
  }
}

export function teardown(): void {
  if (mounted(RO_NODE)) execFileSync("umount", [RO_NODE]);
  rmSync(dirname(RO_NODE), { recursive: true, force: true });
}
