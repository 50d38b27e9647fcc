import { chmodSync, existsSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CRASH_POINTS } from "../src/crash-point.js";
import { attachDirName } from "../src/backends/proxmox-lxc/attach/mapping.js";
import { configIsFor } from "../src/backends/proxmox-lxc/plan.js";
import { hostTraces, type CrashCase } from "./crash-harness.js";
import { makeBundle, tempDir } from "./helpers.js";
import { guestCrashCase, pveSimSuite, textOr } from "./pve-sim.js";

/**
 * Crash consistency for proxmox-lxc through the pct stand-in on real LXC: nexcage killed with
 * SIGKILL at each named step (runtime, store and backend points), then the checks of
 * e2e/crash-harness.ts, plus: no CT, no template archive (whole or partial) is left.
 */
const { cleanup, sim } = pveSimSuite();

/** attached: created with --pid-file, as containerd's shim creates (a proxy and the CT's directory on the node). */
const CASES: ReadonlyArray<CrashCase & { attached?: true }> = [
  { at: "create:dir-made", setup: "none", op: "create", after: "absent" },
  { at: "store:temp-written", setup: "none", op: "create", after: "absent" },
  { at: "create:record-creating", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-lxc:intent-written", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-lxc:template-packed", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-lxc:vmid-chosen", setup: "none", op: "create", after: "stopped" },
  { at: "proxmox-lxc:ct-created", setup: "none", op: "create", after: "stopped" },
  { at: "create:backend-created", setup: "none", op: "create", after: "stopped" },
  { at: "create:record-created", setup: "none", op: "create", after: "created" },
  { at: "start:checked", setup: "created", op: "start", after: "created" },
  { at: "proxmox-lxc:ct-started", setup: "created", op: "start", after: "running" },
  { at: "start:backend-started", setup: "created", op: "start", after: "running" },
  { at: "kill:checked", setup: "running", op: "kill", after: "running" },
  { at: "kill:backend-killed", setup: "running", op: "kill", after: "stopped" },
  { at: "delete:checked", setup: "running", op: "delete", after: "running" },
  { at: "proxmox-lxc:ct-destroyed", setup: "running", op: "delete", after: "stopped" },
  { at: "delete:backend-deleted", setup: "running", op: "delete", after: "stopped" },
  { at: "proxmox-lxc:attach-recorded", setup: "none", op: "create", after: "stopped", attached: true },
  { at: "proxmox-lxc:proxy-started", setup: "none", op: "create", after: "stopped", attached: true },
  { at: "create:backend-created", setup: "none", op: "create", after: "stopped", attached: true },
  { at: "create:record-created", setup: "none", op: "create", after: "created", attached: true },
  { at: "proxmox-lxc:ct-started", setup: "created", op: "start", after: "running", attached: true },
  { at: "start:backend-started", setup: "created", op: "start", after: "running", attached: true },
  { at: "kill:backend-killed", setup: "running", op: "kill", after: "stopped", attached: true },
  { at: "proxmox-lxc:ct-destroyed", setup: "running", op: "delete", after: "stopped", attached: true },
];

it("every runtime and proxmox-lxc crash point has a case", () => {
  const covered = new Set(CASES.map((c) => c.at.replace(/#[0-9]+$/, "")));
  expect(CRASH_POINTS.filter((p) => !p.startsWith("libcrun:") && !p.startsWith("proxmox-vm:") && !covered.has(p))).toEqual([]);
});

/** An attached CT's directory on the node and its proxy (whose argv names that directory). */
function attachTraces(root: string, id: string, vmid: number): string[] {
  const dir = join(sim.simRoot, "run/nexcage-ct", attachDirName(vmid, join(realpathSync(root), id)));
  const proxies = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && textOr(`/proc/${p}/cmdline`).includes(`${dir}/`));
  return [...(existsSync(dir) ? [dir] : []), ...proxies.map((p) => `proxy ${p}`)];
}

describe("proxmox-lxc: kill -9 at each step", () => {
  const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
  chmodSync(bundle, 0o755);

  it.concurrent.each(CASES.map((c, i) => ({ ...c, i, how: c.attached ? "(attached)" : "(plain)" })))("$op crashed at $at $how: state says $after, list agrees, delete --force leaves no CT, template or record", async (c) => {
    const root = cleanup.dir(tempDir("crash-pve"));
    const id = cleanup.nexcage(root, `crash-pve-${c.i}`);
    await guestCrashCase(c, {
      root,
      id,
      bundle,
      config: sim.config,
      env: sim.env,
      intentFile: "proxmox-lxc.json",
      status: (vmid) => sim.pct(["status", String(vmid), "--verbose"]),
      createFlags: c.attached ? ["--pid-file", join(cleanup.dir(tempDir("crash-pve-pid")), "init.pid")] : undefined,
      leftovers: (vmid) => [
        // CTs of other cases may have taken the VMID this create had chosen: only its own count
        ...sim.cts().filter((v) => configIsFor(textOr(join(sim.confDir, `${v}.conf`)), id)).map((v) => `CT ${v}`),
        ...sim.templates().filter((t) => t.includes(`-${id}-`)),
        ...(vmid !== undefined ? hostTraces(String(vmid), join(root, id)) : []),
        ...(vmid !== undefined ? attachTraces(root, id, vmid) : []),
      ],
    });
  });
});
