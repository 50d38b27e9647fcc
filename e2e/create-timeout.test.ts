import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runtimeCallsOn } from "../src/backends/runtime-calls.js";
import { cgroupsNamed } from "./crash-harness.js";
import { Cleanup, configFile, makeBundle, NEXCAGE, nexcage, nexcageFor, rootEntries, tempDir, VARIANTS, waitFor, type Variant } from "./helpers.js";

/**
 * A create that does not finish: crun/runc killed at `timeoutSeconds` while a createRuntime hook
 * sleeps, or nexcage (alone, or with its runtime) killed with SIGKILL at that moment. Whatever the
 * create started must be gone afterwards: the error's rollback, or `delete --force` after a crash,
 * leaves no cgroup named by the id, no runtime process on the container, no init, no directory.
 */
const cleanup = new Cleanup();
const hookPids: number[] = [];
afterAll(async () => {
  for (const pid of hookPids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // exited
    }
  }
  await cleanup.run();
  for (const d of cgroupsNamed(NESTED.slice(1))) rmdirSync(d);
}, 120_000);

const tag = process.pid.toString(36);
/** The parent of the nested cgroupsPath cases: the runtimes leave parents, as their delete does; removed at the end. */
const NESTED = `/nexcage-e2e-${tag}`;

/** A bundle whose createRuntime hook (run by the runtime, on the host) says it began, then sleeps. */
function slowHookBundle(cgroupsPath?: string): { bundle: string; marker: string } {
  const dir = cleanup.dir(tempDir("hook"));
  const marker = join(dir, "hook.pid");
  const hook = join(dir, "hook.sh");
  writeFileSync(hook, `#!/bin/sh\necho $$ > ${marker}\nexec sleep 120\n`);
  chmodSync(hook, 0o755);
  const bundle = cleanup.dir(
    makeBundle(["sleep", "1000"], (spec) => {
      spec["hooks"] = { createRuntime: [{ path: hook }] };
      if (cgroupsPath !== undefined) spec["linux"].cgroupsPath = cgroupsPath;
    }),
  );
  return { bundle, marker };
}

function hookStarted(marker: string): Promise<boolean> {
  return waitFor(async () => {
    if (!existsSync(marker)) return false;
    const pid = Number(readFileSync(marker, "utf8"));
    if (pid > 0 && !hookPids.includes(pid)) hookPids.push(pid);
    return pid > 0;
  }, 30_000);
}

/** Nothing of `id` on the host: no cgroup, no runtime process, nothing in the root. */
function expectNothingLeft(root: string, id: string, v: Variant, cgroupName = id): void {
  expect(cgroupsNamed(cgroupName)).toEqual([]);
  expect(runtimeCallsOn(join(root, id, v.backend))).toEqual([]);
  expect(rootEntries(root)).toEqual([]);
}

const CLI_VARIANTS = VARIANTS.filter((v) => v.node === undefined);

describe.each(CLI_VARIANTS)("a create that times out, through $name", (v) => {
  const config = (): string => {
    const backends = v.config["backends"] as Record<string, Record<string, unknown>> | undefined;
    return configFile({ ...v.config, backends: { ...backends, [v.backend]: { ...backends?.[v.backend], timeoutSeconds: 1 } } });
  };

  it.each([
    ["the default cgroup", undefined],
    ["a nested cgroupsPath", NESTED],
  ])("is rolled back with its cgroups and init (%s)", async (_what, nested) => {
    const root = cleanup.dir(tempDir("timeout"));
    const id = cleanup.nexcage(root, `timeout-${tag}-${v.backend}-${nested === undefined ? "d" : "n"}`);
    const cgroupsPath = nested === undefined ? undefined : `${nested}/${id}-cg`;
    const { bundle, marker } = slowHookBundle(cgroupsPath);
    const r = await nexcage(root, ["create", "-b", bundle, id], { config: config() });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`did not answer within 1s`);
    expect(r.stderr).not.toContain("cleaning up failed");
    await hookStarted(marker);
    expectNothingLeft(root, id, v, cgroupsPath === undefined ? id : `${id}-cg`);
    // and delete --force finds nothing more to do
    expect((await nexcage(root, ["delete", "--force", id], { config: config() })).code).toBe(0);
  });
});

describe.each(VARIANTS)("kill -9 while create runs a hook, through $name", (v) => {
  const config = configFile(v.config);

  it.each([
    ["nexcage alone", false],
    ["nexcage and its runtime together", true],
  ])("%s: delete --force at once leaves nothing", async (_what, group) => {
    const root = cleanup.dir(tempDir("hookkill"));
    const id = cleanup.nexcage(root, `hookkill-${tag}-${v.backend}${v.node ? "l" : ""}-${group ? "g" : "a"}`);
    const { bundle, marker } = slowHookBundle();
    const child = spawn(v.node ?? process.execPath, [NEXCAGE, "--root", root, "--config", config, "create", "-b", bundle, id], {
      stdio: "ignore",
      detached: true,
    });
    const exited = new Promise((r) => child.on("exit", r));
    expect(await hookStarted(marker)).toBe(true);
    // the process group: nexcage, the crun/runc it runs, the hook
    process.kill(group ? -child.pid! : child.pid!, "SIGKILL");
    await exited;
    const n = nexcageFor(v, root);
    const d = await n(["delete", "--force", id]);
    expect(d.code, d.stderr).toBe(0);
    expectNothingLeft(root, id, v);
    expect((await n(["state", id])).stderr).toContain("container does not exist");
  });
});
