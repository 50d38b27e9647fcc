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
import { spawn } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSpec } from "../../src/oci/default-spec.js";
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
afterAll(() => rmSync(base, { recursive: true, force: true }));

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

/**
 * Runs the CLI with stdout and stderr in files: a created container inherits them (its stdio is
 * the caller's) and would hold a pipe open until it is deleted.
 */
function runCli(args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }> {
  const out = join(base, `out-${seq}`);
  const err = join(base, `err-${seq}`);
  const fds = [openSync(out, "w"), openSync(err, "w")] as const;
  return new Promise<{ code: number | null; signal: string | null; timedOut: boolean }>((done, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NEXCAGE_CONFIG: join(base, "config.json") };
    delete env["NODE_EXTRA_CA_CERTS"];
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", fds[0], fds[1]] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, CALL_TIMEOUT_MS);
    child.on("error", fail);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, timedOut });
    });
  }).then((r) => {
    for (const fd of fds) closeSync(fd);
    const text = { stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
    rmSync(out);
    rmSync(err);
    return { ...r, ...text };
  });
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
          const info = `config.json ${JSON.stringify(doc).slice(0, 1500)}\nexit ${r.code} ${r.signal ?? ""}\nstderr: ${r.stderr.slice(0, 1500)}`;
          expect(r.timedOut, `hang: ${info}`).toBe(false);
          expect(r.stderr, `stack trace: ${info}`).not.toMatch(/^\s+at |internal error/m);
          if (r.code === 0) {
            const s = await runCli(["--root", root, "state", id]);
            expect(JSON.parse(s.stdout).status, info).toBe("created");
          } else {
            expect(r.code, info).toBe(1);
            // crun's own lines may come first: the container's stderr is crun's (docs/cli.md)
            const ours = r.stderr.trimEnd().split("\n").filter((l) => l.startsWith("nexcage: "));
            expect(ours, info).toHaveLength(1);
            expect(r.stderr.trimEnd().split("\n").pop(), info).toMatch(/^nexcage: /);
          }
          const d = await runCli(["--root", root, "delete", "--force", id]);
          expect(d.code, `delete --force: ${d.stderr}\n${info}`).toBe(0);
          expect(existsSync(root) ? readdirSync(root) : [], `left in the root: ${info}`).toEqual([]);
          expect(cgroupsOf(id), `cgroups left: ${info}`).toEqual([]);
        } finally {
          rmSync(bundle, { recursive: true, force: true });
          rmSync(root, { recursive: true, force: true });
        }
      }),
      params(8, { cap: CAP }),
    );
  });
});
