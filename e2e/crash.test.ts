import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CRASH_POINTS } from "../src/crash-point.js";
import { crashCase, hostTraces, type CrashCase } from "./crash-harness.js";
import { runtimeCallsOn } from "../src/backends/runtime-calls.js";
import { Cleanup, configFile, makeBundle, NEXCAGE, nexcageFor, rootEntries, tempDir, VARIANTS } from "./helpers.js";

/**
 * Crash consistency for crun (CLI and libcrun drivers) and runc: nexcage killed with SIGKILL at each
 * named step of create, start, kill and delete (see e2e/crash-harness.ts for what each case checks).
 */
const cleanup = new Cleanup();
afterAll(() => cleanup.run(), 300_000);

/** Every runtime, store and libcrun crash point, at the operation that passes it. */
const CASES: ReadonlyArray<CrashCase & { only?: "libcrun" }> = [
  { at: "create:dir-made", setup: "none", op: "create", after: "absent" },
  { at: "store:temp-written", setup: "none", op: "create", after: "absent" },
  { at: "create:record-creating", setup: "none", op: "create", after: "stopped" },
  { at: "libcrun:state-root-made", setup: "none", op: "create", after: "stopped", only: "libcrun" },
  { at: "create:backend-created", setup: "none", op: "create", after: "stopped" },
  { at: "store:temp-written#2", setup: "none", op: "create", after: "stopped" },
  { at: "create:record-created", setup: "none", op: "create", after: "created" },
  { at: "start:checked", setup: "created", op: "start", after: "created" },
  { at: "start:backend-started", setup: "created", op: "start", after: "running" },
  { at: "store:temp-written", setup: "created", op: "start", after: "running" },
  { at: "kill:checked", setup: "running", op: "kill", after: "running" },
  { at: "kill:backend-killed", setup: "running", op: "kill", after: "stopped" },
  { at: "delete:checked", setup: "running", op: "delete", after: "running" },
  { at: "delete:backend-deleted", setup: "running", op: "delete", after: "stopped" },
];

const tag = process.pid.toString(36);

it("every crash point outside proxmox-lxc has a case", () => {
  const covered = new Set(CASES.map((c) => c.at.replace(/#[0-9]+$/, "")));
  expect(CRASH_POINTS.filter((p) => !p.startsWith("proxmox-lxc:") && !p.startsWith("proxmox-vm:") && !covered.has(p))).toEqual([]);
});

describe.each(VARIANTS)("kill -9 at each step, through $name", (variant) => {
  const driver = variant.node ? "libcrun" : "cli";
  const cases = CASES.filter((c) => c.only === undefined || c.only === driver).map((c, i) => ({ ...c, i }));

  it.concurrent.each(cases)("$op crashed at $at: state says $after, list agrees, delete --force leaves nothing", async (c) => {
    const root = cleanup.dir(tempDir("crash"));
    const id = cleanup.nexcage(root, `crash-${tag}-${variant.backend}${variant.node ? "l" : ""}-${c.i}`);
    await crashCase(c, {
      n: nexcageFor(variant, root),
      root,
      bundle: cleanup.dir(makeBundle(["sleep", "1000"])),
      id,
      initPid: async () => {
        try {
          return Number(readFileSync(join(root, id, "init.pid"), "utf8")) || undefined;
        } catch {
          return undefined;
        }
      },
      leftovers: async () => hostTraces(id, join(root, id)),
    });
  });
});

describe.each(VARIANTS)("kill -9 of create at any moment, then delete --force at once, through $name", (variant) => {
  // the moments a kill can fall on are not named crash points: spread kills over the whole create
  const TRIES = Array.from({ length: 12 }, (_, i) => i);

  it("leaves no directory, runtime call, init or cgroup", async () => {
    const root = cleanup.dir(tempDir("killany"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const n = nexcageFor(variant, root);
    const config = configFile(variant.config);
    for (const i of TRIES) {
      const id = cleanup.nexcage(root, `killany-${tag}-${variant.backend}${variant.node ? "l" : ""}-${i}`);
      const child = spawn(variant.node ?? process.execPath, [NEXCAGE, "--root", root, "--config", config, "create", "-b", bundle, id], { stdio: "ignore" });
      const exited = new Promise((r) => child.on("exit", r));
      await new Promise((r) => setTimeout(r, 20 + i * 25));
      child.kill("SIGKILL");
      await exited;
      const d = await n(["delete", "--force", id]);
      expect(d.code, d.stderr).toBe(0);
      expect(runtimeCallsOn(join(root, id, variant.backend))).toEqual([]);
      expect(rootEntries(root)).toEqual([]);
      expect(hostTraces(id, join(root, id))).toEqual([]);
    }
  }, 120_000);
});
