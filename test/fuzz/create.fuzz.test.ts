/**
 * `create` through the built CLI and the real crun (CLI driver), with mutated bundle config.json
 * documents: every call ends in a container that `state` reports as created and `delete --force`
 * removes, or in one `nexcage: ` line and a non-zero exit; never a stack trace, a hang, or anything
 * left in the root, a cgroup or a process. Runs as root (CI and the e2e suites do).
 *
 * Safety: mutations never reach what runs on the host during create: hooks, sysctls and the cgroup path are
 * dropped, the namespaces and the rootfs (a shared busybox tree) are put back after mutating,
 * and the container is only created, never started.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_CACHE_FILE } from "../../src/config/cache.js";
import { defaultSpec } from "../../src/oci/default-spec.js";
import { runToFiles } from "../../e2e/helpers.js";
import { mutate, mutationArb, params, timeoutFor } from "./_fuzz.js";

const REPO = resolve(import.meta.dirname, "../..");
const CLI = join(REPO, "dist", "nexcage.mjs");
const CAP = 300;
const CALL_TIMEOUT_MS = 30_000;
const isRoot = process.getuid?.() === 0 && existsSync("/usr/bin/crun");

let base: string;
let rootfs: string;
const tag = process.pid.toString(36);
let seq = 0;
/** How the runs ended, printed after the property: a target that only ever fails early tests little. */
const outcomes = { created: 0, refused: 0 };

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "nexcage-fuzz-create-")));
  rootfs = join(base, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
  chmodSync(join(rootfs, "bin", "busybox"), 0o755);
  for (const a of ["sh", "sleep", "true"]) symlinkSync("busybox", join(rootfs, "bin", a));
  for (const d of ["proc", "sys", "dev", "tmp", "etc"]) mkdirSync(join(rootfs, d));
  writeFileSync(join(base, "config.json"), JSON.stringify({ defaultBackend: "crun", backends: { crun: { driver: "cli", timeoutSeconds: 20 } } }));
});
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  if (outcomes.created + outcomes.refused > 0) console.log(`create fuzz: ${outcomes.created} created, ${outcomes.refused} refused in one line`);
});

function spec(): Record<string, any> {
  const s = defaultSpec({ rootless: false, uid: 0, gid: 0 }) as Record<string, any>;
  s["process"].terminal = false;
  s["process"].args = ["sleep", "1000"];
  return s;
}

/** The mutated document with the host-facing parts put back (see the file comment). */
function sanitize(doc: unknown): unknown {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return doc;
  const d = doc as Record<string, any>;
  delete d["hooks"];
  if (d["root"] !== undefined) d["root"] = { path: rootfs, readonly: false };
  const linux = d["linux"];
  if (linux !== null && typeof linux === "object" && !Array.isArray(linux)) {
    delete linux["sysctl"];
    delete linux["cgroupsPath"];
    linux["namespaces"] = spec()["linux"].namespaces;
  } else if (linux !== undefined) {
    delete d["linux"];
  }
  return d;
}

/** The built CLI, its output in files (a created container inherits them and would hold a pipe open). */
async function runCli(args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, NEXCAGE_CONFIG: join(base, "config.json"), NODE_EXTRA_CA_CERTS: undefined };
  const r = await runToFiles(process.execPath, [CLI, ...args], { dir: base, timeoutMs: CALL_TIMEOUT_MS, env });
  return { ...r, timedOut: r.stderr.includes(`killed after ${CALL_TIMEOUT_MS} ms]`) };
}

const cgroupsOf = (id: string) => readdirSync("/sys/fs/cgroup").filter((c) => existsSync(join("/sys/fs/cgroup", c, id)));

describe.runIf(isRoot)("fuzz: create with mutated config.json through crun", () => {
  it("a created container (state: created; delete --force: gone) or one `nexcage:` line and exit 1; nothing left behind", { timeout: timeoutFor(8, 4000, CAP) }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const bundle = join(base, `b${++seq}`);
        const root = join(base, `root${seq}`);
        const id = `fz-${tag}-${seq}`;
        mkdirSync(bundle);
        const doc = sanitize(mutate(spec(), mutations));
        writeFileSync(join(bundle, "config.json"), JSON.stringify(doc) ?? "");
        try {
          const r = await runCli(["--root", root, "create", "-b", bundle, id]);
          const info = `config.json ${String(JSON.stringify(doc)).slice(0, 1500)}\nexit ${r.code}\nstderr: ${r.stderr.slice(0, 1500)}`;
          expect(r.timedOut, `hang: ${info}`).toBe(false);
          expect(r.stderr, `stack trace: ${info}`).not.toMatch(/^\s+at |internal error/m);
          if (r.code === 0) {
            const s = await runCli(["--root", root, "state", id]);
            expect(JSON.parse(s.stdout).status, info).toBe("created");
            outcomes.created++;
          } else {
            expect(r.code, info).toBe(1);
            // crun's own lines may come first: the container's stderr is crun's (docs/cli.md)
            const ours = r.stderr.trimEnd().split("\n").filter((l) => l.startsWith("nexcage: "));
            expect(ours, info).toHaveLength(1);
            expect(r.stderr.trimEnd().split("\n").pop(), info).toMatch(/^nexcage: /);
            outcomes.refused++;
          }
          const d = await runCli(["--root", root, "delete", "--force", id]);
          expect(d.code, `delete --force: ${d.stderr}\n${info}`).toBe(0);
          expect(existsSync(root) ? readdirSync(root).filter((n) => n !== CONFIG_CACHE_FILE) : [], `left in the root: ${info}`).toEqual([]);
          expect(cgroupsOf(id), `cgroups left: ${info}`).toEqual([]);
        } finally {
          rmSync(bundle, { recursive: true, force: true });
          rmSync(root, { recursive: true, force: true });
        }
      }),
      params(8, { cap: CAP, endOnFailure: true }),
    );
  });
});
