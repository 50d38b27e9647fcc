// The DEB end to end: build it from this checkout with packaging/build-deb, `dpkg -i` it, run a
// busybox lifecycle with the INSTALLED /usr/bin/nexcage (crun backend, libcrun driver), check the man
// page, the completion and the conffile, then `dpkg --purge` and check nothing of it is left.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, openSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup, configFile, makeBundle, REPO, runToFiles, tempDir, waitFor, type Run } from "./helpers.js";
import { pveSim } from "./pve-sim.js";

const BIN = "/usr/bin/nexcage";
const EXE = "/usr/lib/nexcage/nexcage";
const ROOT = "/run/nexcage";
const ID = `deb-${process.pid}-${Date.now().toString(36)}`;
const version: string = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;
const DEB = join(REPO, "dist", `nexcage_${version}_amd64.deb`);
const SBOM = join(REPO, "dist", `nexcage_${version}_amd64.cdx.json`);
const cleanup = new Cleanup();
const out = tempDir("deb-out");
// what the test environment must not leak into the installed binary's behaviour
const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NODE_EXTRA_CA_CERTS: process.env["NODE_EXTRA_CA_CERTS"] };

function sh(cmd: string, args: string[], opts: { cwd?: string; timeout?: number } = {}): { code: number; stdout: string; stderr: string } {
  // gzip: the same package, built in seconds instead of minutes of xz
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", NEXCAGE_DEB_COMPRESSION: "gzip" };
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: "utf8", timeout: opts.timeout ?? 120_000, env });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: `${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}
const installed = () => sh("dpkg-query", ["-W", "-f=${Status}", "nexcage"]).stdout.includes("install ok installed");
/** dpkg itself, retried while another process (apt of a parallel job) holds its lock. */
function dpkg(args: string[]): { code: number; stdout: string; stderr: string } {
  for (let i = 0; ; i++) {
    const r = sh("dpkg", args);
    if (r.code === 0 || !/lock/i.test(r.stderr) || i >= 60) return r;
    spawnSync("sleep", ["2"]);
  }
}
async function nc(args: string[]): Promise<Run> {
  return runToFiles(BIN, args, { dir: out, timeoutMs: 60_000, env });
}
const statusOf = async () => JSON.parse((await nc(["state", ID])).stdout).status as string;

let weInstalled = false;
let files: string[] = [];
let build: { code: number; stdout: string; stderr: string };
let commit = "";

beforeAll(() => {
  if (installed()) throw new Error("the nexcage package is already installed on this machine: dpkg --purge nexcage first");
  commit = sh("git", ["-C", REPO, "rev-parse", "--short=12", "HEAD"]).stdout.trim();
  build = sh(join(REPO, "packaging", "build-deb"), [], { cwd: REPO, timeout: 1_500_000 });
  const lintian = build.stdout.slice(build.stdout.indexOf("build-deb: dist/"));
  console.log(`packaging/build-deb (exit ${build.code}):\n${lintian}${build.code ? build.stderr.slice(-3000) : ""}`);
  if (build.code !== 0) return;
  weInstalled = true;
  const r = dpkg(["-i", DEB]);
  if (r.code !== 0) throw new Error(`dpkg -i failed: ${r.stderr.trim()}`);
  files = sh("dpkg", ["-L", "nexcage"]).stdout.trim().split("\n");
}, 1_600_000);

afterAll(async () => {
  if (existsSync(BIN)) await nc(["delete", "--force", ID]).catch(() => undefined);
  const rt = join(ROOT, ID, "crun");
  if (existsSync(rt)) sh("crun", ["--root", rt, "delete", "--force", ID]);
  if (weInstalled && installed()) dpkg(["--purge", "nexcage"]);
  await cleanup.run();
}, 120_000);

describe("the .deb", () => {
  it("packaging/build-deb builds it, with the SBOM beside it, and lintian reports no error", () => {
    expect(build.code, build.stderr.slice(-2000)).toBe(0);
    expect(build.stdout).toMatch(/^build-deb: lintian: no errors/m);
    const sbom = JSON.parse(readFileSync(SBOM, "utf8"));
    expect(sbom.bomFormat).toBe("CycloneDX");
    const names = sbom.components.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(["commander", "zod", "pino", "koffi", "libcrun", "bun"]));
    const fields = sh("dpkg-deb", ["--field", DEB, "Depends"]).stdout;
    for (const dep of ["libc6", "libseccomp2", "libyajl2", "libcap2", "libsystemd0", "crun"]) expect(fields).toContain(dep);
  });

  it("installs the binary in /usr/bin and the native parts in /usr/lib/nexcage, read-only", () => {
    expect(installed()).toBe(true);
    expect(lstatSync(BIN).isSymbolicLink()).toBe(true);
    expect(readlinkSync(BIN)).toBe("../lib/nexcage/nexcage");
    for (const f of ["koffi.node", "libcrun.so.1.8.1"]) expect(existsSync(join("/usr/lib/nexcage", f))).toBe(true);
    expect(sh("findmnt", ["-n", "-o", "OPTIONS", "/usr/lib/nexcage"]).stdout).toMatch(/^ro,/);
    // CVE-2019-5736: the executable cannot be opened for writing, even by root
    expect(() => openSync(EXE, "r+")).toThrow(/EROFS/);
  });

  it("--version: version, the commit it was built from, the spec, and the libcrun driver", async () => {
    const r = await nc(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^nexcage version ${version.replace(/\./g, "\\.")}\\ncommit: ${commit}(-dirty)?\\nspec: 1\\.\\d+\\.\\d+\\ncrun driver: libcrun \\(/usr/lib/nexcage/libcrun\\.so\\.1\\.8\\.1\\)\\n$`));
  });

  it("runs a busybox container through the installed binary, crun backend, libcrun driver", async () => {
    const bundle = makeBundle(["/bin/sh", "-c", "echo from-deb > /tmp/out; exec sleep 1000"]);
    const created = await nc(["--debug", "create", "--bundle", bundle, ID]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/crun driver: libcrun \(backends\.crun\.driver is auto; \/usr\/lib\/nexcage\/nexcage is on a read-only mount/);
    const st = JSON.parse((await nc(["state", ID])).stdout);
    expect(st).toMatchObject({ id: ID, status: "created", bundle });
    // the init is a fork of nexcage itself (in-process libcrun), not of the crun command
    expect(readlinkSync(`/proc/${st.pid}/exe`)).toBe(EXE);
    expect(existsSync(join(ROOT, ID))).toBe(true); // the default root, from tmpfiles.d
    expect((await nc(["start", ID])).code).toBe(0);
    expect(await waitFor(async () => existsSync(join(bundle, "rootfs", "tmp", "out")))).toBe(true);
    expect(readFileSync(join(bundle, "rootfs", "tmp", "out"), "utf8")).toBe("from-deb\n");
    expect(await statusOf()).toBe("running");
    expect((await nc(["list", "-q"])).stdout.split("\n")).toContain(ID);
    expect((await nc(["kill", ID, "KILL"])).code).toBe(0);
    expect(await waitFor(async () => (await statusOf()) === "stopped")).toBe(true);
    expect((await nc(["delete", ID])).code).toBe(0);
    const gone = await nc(["state", ID]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(ROOT, ID))).toBe(false);
  });

  it("runs a container through the crun CLI driver too (children started by Bun.spawn): create, start, signal, kill --all, delete", async () => {
    const id = `${ID}-cli`;
    const config = join(out, "cli.json");
    writeFileSync(config, JSON.stringify({ defaultBackend: "crun", backends: { crun: { driver: "cli" } } }));
    const cli = (args: string[]) => nc(["--config", config, ...args]);
    const bundle = makeBundle(["/bin/sh", "-c", "trap 'echo got-usr1 > /tmp/usr1' USR1; sleep 1000 & wait; sleep 1000 & wait"]);
    try {
      const created = await cli(["--debug", "create", "--bundle", bundle, id]);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toMatch(/crun driver: cli/);
      // the init is crun's child, not a fork of nexcage
      const st = JSON.parse((await cli(["state", id])).stdout);
      expect(readlinkSync(`/proc/${st.pid}/exe`)).not.toBe(EXE);
      expect((await cli(["start", id])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect((await cli(["kill", id, "USR1"])).code).toBe(0);
      expect(await waitFor(async () => existsSync(join(bundle, "rootfs", "tmp", "usr1")))).toBe(true);
      expect((await cli(["kill", "--all", id, "KILL"])).code).toBe(0);
      expect(await waitFor(async () => JSON.parse((await cli(["state", id])).stdout).status === "stopped")).toBe(true);
      const deleted = await cli(["delete", id]);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(existsSync(join(ROOT, id))).toBe(false);
    } finally {
      await cli(["delete", "--force", id]).catch(() => undefined);
    }
  });

  it("drives a Proxmox CT on the pct stand-in: the raw lxc.* lines written under Proxmox's config flock (bun:ffi in the binary), start, kill, delete", async () => {
    const sim = pveSim(cleanup);
    expect(await sim.init()).toBe(0);
    const id = `${ID}-ct`;
    const config = configFile(sim.settings());
    // cwd: a directory without node_modules, as containerd's bundle directory (a checkout's would hide a missing module)
    const ct = (args: string[]) => runToFiles(BIN, ["--config", config, ...args], { dir: out, timeoutMs: 120_000, cwd: out, env: { ...env, ...sim.env } });
    const bundle = cleanup.dir(makeBundle(["/bin/sleep", "1000"], (spec) => {
      spec["process"].env = ["PATH=/bin", "GREETING=from-the-deb"];
      spec["process"].cwd = "/tmp";
    }));
    try {
      const created = await ct(["create", "--bundle", bundle, id]);
      expect(created.code, created.stderr).toBe(0);
      const vmid = sim.vmidOf(ROOT, id);
      const conf = readFileSync(join(sim.confDir, `${vmid}.conf`), "utf8");
      expect(conf).toMatch(/^lxc\.environment\.runtime: GREETING=from-the-deb$/m);
      expect(conf).toMatch(/^lxc\.init\.cwd: \/tmp$/m);
      expect((await ct(["start", id])).code).toBe(0);
      expect(JSON.parse((await ct(["state", id])).stdout).status).toBe("running");
      expect((await ct(["kill", id, "KILL"])).code).toBe(0);
      expect(await waitFor(async () => JSON.parse((await ct(["state", id])).stdout).status === "stopped", 60_000)).toBe(true);
      const deleted = await ct(["delete", id]);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(sim.cts()).toEqual([]);
      expect(existsSync(join(ROOT, id))).toBe(false);
    } finally {
      await ct(["delete", "--force", id]).catch(() => undefined);
      await sim.destroyAll();
    }
  }, 300_000);

  it("reads no .env or bunfig.toml from its working directory (containerd runs it in the bundle's)", async () => {
    const cwd = tempDir("deb-cwd");
    const marker = join(cwd, "preloaded");
    writeFileSync(join(cwd, ".env"), "NEXCAGE_CONFIG=/nonexistent/from-dotenv.json\nNEXCAGE_CRUN_DRIVER=bogus\n");
    writeFileSync(join(cwd, "preload.js"), `require("fs").writeFileSync(${JSON.stringify(marker)}, "x");\n`);
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./preload.js"]\n');
    const r = await runToFiles(BIN, ["health"], { dir: out, timeoutMs: 60_000, cwd, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^config: \/etc\/nexcage\/config\.json\n/);
    expect(existsSync(marker)).toBe(false);
  });

  it("man -w nexcage finds nexcage(1), and it documents every command", () => {
    const w = sh("man", ["-w", "nexcage"]);
    expect(w.stdout.trim()).toBe("/usr/share/man/man1/nexcage.1.gz");
    const page = sh("man", ["-P", "cat", "nexcage"], {}).stdout;
    for (const c of ["create", "start", "state", "kill", "delete", "exec", "ps", "list", "features", "version"]) expect(page).toMatch(new RegExp(`^ {3}${c}\\b`, "m"));
  });

  it("bash completion completes commands, options and container ids from the installed CLI", async () => {
    const file = "/usr/share/bash-completion/completions/nexcage";
    expect(existsSync(file)).toBe(true);
    const complete = (words: string[]) =>
      sh("bash", ["--norc", "--noprofile", "-c", `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _nexcage; printf '%s\\n' "\${COMPREPLY[@]}"`]).stdout.trim().split("\n");
    expect(complete(["nexcage", "cre"])).toEqual(["create"]);
    expect(complete(["nexcage", "create", "--pid"])).toEqual(["--pid-file"]);
    expect(complete(["nexcage", "--log-format", ""])).toEqual(["text", "json"]);
    const bundle = makeBundle(["sleep", "1000"]);
    expect((await nc(["create", "--bundle", bundle, ID])).code).toBe(0);
    try {
      expect(complete(["nexcage", "state", ID.slice(0, 8)])).toContain(ID);
    } finally {
      expect((await nc(["delete", "--force", ID])).code).toBe(0);
    }
  });

  it("/etc/nexcage/config.json is a conffile holding the example configuration", () => {
    expect(sh("dpkg-query", ["-W", "-f=${Conffiles}", "nexcage"]).stdout).toMatch(/^ \/etc\/nexcage\/config\.json [0-9a-f]{32}$/m);
    const installedCfg = JSON.parse(readFileSync("/etc/nexcage/config.json", "utf8"));
    const example = JSON.parse(readFileSync(join(REPO, "config.example.json"), "utf8"));
    expect({ ...installedCfg, $schema: undefined }).toEqual({ ...example, $schema: undefined });
    expect(existsSync(installedCfg.$schema.replace("file://", ""))).toBe(true);
  });

  it("installing it again (the upgrade path) keeps an edited conffile and mounts /usr/lib/nexcage read-only again", async () => {
    const edited = `${readFileSync("/etc/nexcage/config.json", "utf8").trimEnd()}\n`.replace('"defaultBackend": "crun"', '"defaultBackend": "crun" ');
    writeFileSync("/etc/nexcage/config.json", edited);
    const r = dpkg(["--force-confold", "-i", DEB]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync("/etc/nexcage/config.json", "utf8")).toBe(edited);
    expect(sh("findmnt", ["-n", "-o", "OPTIONS", "/usr/lib/nexcage"]).stdout).toMatch(/^ro,/);
    expect(sh("findmnt", ["-n", "/usr/lib/nexcage"]).stdout.trim().split("\n")).toHaveLength(1);
    expect((await nc(["--version"])).stdout).toContain("crun driver: libcrun (/usr/lib/nexcage/libcrun.so.1.8.1)");
  });

  it("dpkg --purge leaves nothing behind: files, /etc/nexcage, /run/nexcage, the mount, systemd links", () => {
    expect(files.length).toBeGreaterThan(10);
    const r = dpkg(["--purge", "nexcage"]);
    expect(r.code, r.stderr).toBe(0);
    expect(installed()).toBe(false);
    const shared = new Set(["/.", "/etc", "/usr", "/usr/bin", "/usr/lib", "/usr/share", "/usr/share/doc", "/usr/share/man", "/usr/share/man/man1", "/lib", "/lib/systemd", "/lib/systemd/system", "/usr/lib/tmpfiles.d", "/usr/share/bash-completion", "/usr/share/bash-completion/completions", "/usr/share/lintian", "/usr/share/lintian/overrides"]);
    const left = files.filter((f) => !shared.has(f) && existsSync(f));
    expect(left).toEqual([]);
    for (const p of ["/etc/nexcage", ROOT, "/usr/lib/nexcage", "/etc/systemd/system/local-fs.target.wants/usr-lib-nexcage.mount", "/etc/systemd/system/usr-lib-nexcage.mount"]) {
      expect(existsSync(p), p).toBe(false);
    }
    expect(sh("findmnt", ["/usr/lib/nexcage"]).code).not.toBe(0);
    const state = sh("find", ["/var/lib/systemd", "-name", "*nexcage*"]).stdout.trim();
    expect(state).toBe("");
  });
});
