import fc from "fast-check";
import { spawn } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, openSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtimeCallsOn } from "../../src/backends/runtime-calls.js";
import { cgroupsNamed } from "../../e2e/crash-harness.js";
import { CONFIG_CACHE_FILE } from "../../src/config/cache.js";
import { defaultSpec } from "../../src/oci/default-spec.js";
import { params, timeoutFor } from "./_fuzz.js";

/**
 * Issue 16, items 5 and 8, as a class: a create through crun or runc that does not finish — the
 * runtime killed at `timeoutSeconds` while a createRuntime hook runs, or nexcage (alone, or with its
 * runtime) killed with SIGKILL at a random moment — followed by `delete --force`: exit 0, nothing in
 * the root, no runtime call on the container, no cgroup of it in any hierarchy at any depth.
 */
const REPO = resolve(import.meta.dirname, "../..");
const CLI = join(REPO, "dist", "nexcage.mjs");
const CAP = 100;
const isRoot = process.getuid?.() === 0 && existsSync("/usr/bin/crun") && existsSync("/usr/bin/runc");
const tag = process.pid.toString(36);
const NESTED = `nexcage-fzu-${tag}`;
let base: string;
let seq = 0;
const hookPids: number[] = [];

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "nexcage-fuzz-unfinished-")));
  const rootfs = join(base, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
  chmodSync(join(rootfs, "bin", "busybox"), 0o755);
  symlinkSync("busybox", join(rootfs, "bin", "sleep"));
  for (const d of ["proc", "sys", "dev", "tmp", "etc"]) mkdirSync(join(rootfs, d));
});
afterAll(() => {
  for (const pid of hookPids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // exited
    }
  }
  for (const d of cgroupsNamed(NESTED)) rmdirSync(d);
  rmSync(base, { recursive: true, force: true });
});

/** The built CLI; its stderr in a file (a container it leaves inherits it and would hold a pipe open). */
function cli(args: string[], detached = false) {
  const errFile = join(base, `err-${++calls}`);
  const fd = openSync(errFile, "w");
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", fd], detached });
  closeSync(fd);
  const done = new Promise<{ code: number | null; stderr: string }>((r) => child.on("exit", (code) => r({ code, stderr: readFileSync(errFile, "utf8") })));
  return { child, done };
}
let calls = 0;

const scenario = fc.record({
  backend: fc.constantFrom("crun" as const, "runc" as const),
  how: fc.constantFrom("timeout" as const, "kill" as const, "kill-group" as const),
  delayMs: fc.integer({ min: 0, max: 700 }),
  hook: fc.boolean(),
  nested: fc.boolean(),
});

describe.runIf(isRoot)("fuzz: a create that times out or is killed at any moment", () => {
  it("delete --force afterwards exits 0 and leaves nothing on the host", { timeout: timeoutFor(6, 6000, CAP) }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const n = ++seq;
        const id = `fzu-${tag}-${n}`;
        const dir = join(base, `c${n}`);
        const root = join(dir, "root");
        mkdirSync(join(dir, "bundle"), { recursive: true });
        const marker = join(dir, "hook.pid");
        const hook = join(dir, "hook.sh");
        writeFileSync(hook, `#!/bin/sh\necho $$ > ${marker}\nexec sleep 30\n`);
        chmodSync(hook, 0o755);
        const spec = defaultSpec({ rootless: false, uid: 0, gid: 0 }) as Record<string, any>;
        spec["process"].terminal = false;
        spec["process"].args = ["sleep", "1000"];
        spec["root"] = { path: join(base, "rootfs"), readonly: false };
        if (s.hook || s.how === "timeout") spec["hooks"] = { createRuntime: [{ path: hook }] };
        const leaf = `${id}-cg`;
        if (s.nested) spec["linux"].cgroupsPath = `/${NESTED}/${leaf}`;
        writeFileSync(join(dir, "bundle", "config.json"), JSON.stringify(spec));
        const config = join(dir, "config.json");
        const timeoutSeconds = s.how === "timeout" ? 1 : 20;
        writeFileSync(config, JSON.stringify({ defaultBackend: s.backend, backends: { crun: { driver: "cli", timeoutSeconds }, runc: { timeoutSeconds } } }));
        const globals = ["--root", root, "--config", config];
        const info = JSON.stringify(s);
        try {
          const c = cli([...globals, "create", "-b", join(dir, "bundle"), id], s.how === "kill-group");
          if (s.how === "timeout") {
            const r = await c.done;
            expect(r.code, `${info}: ${r.stderr}`).toBe(1);
            expect(r.stderr.trimEnd().split("\n").filter((l) => l.startsWith("nexcage: ")), info).toHaveLength(1);
          } else {
            await new Promise((r) => setTimeout(r, s.delayMs));
            try {
              process.kill(s.how === "kill-group" ? -c.child.pid! : c.child.pid!, "SIGKILL");
            } catch {
              // the create finished first: delete --force must still leave nothing
            }
            await c.done;
          }
          if (existsSync(marker)) hookPids.push(Number(readFileSync(marker, "utf8")));
          const d = await cli([...globals, "delete", "--force", id]).done;
          expect(d.code, `delete --force: ${d.stderr} ${info}`).toBe(0);
          expect(existsSync(root) ? readdirSync(root).filter((e) => e !== CONFIG_CACHE_FILE && !e.endsWith("@lock")) : [], info).toEqual([]);
          expect(runtimeCallsOn(join(root, id, s.backend)), info).toEqual([]);
          expect(cgroupsNamed(s.nested ? leaf : id), info).toEqual([]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      params(6, { cap: CAP, endOnFailure: true }),
    );
  });
});
