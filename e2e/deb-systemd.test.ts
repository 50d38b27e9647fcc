// The DEB on a booted Debian 12 with systemd as PID 1 (systemd-nspawn, e2e/booted-system.ts), as on a
// Proxmox host: `apt-get install ./nexcage_*.deb`, usr-lib-nexcage.mount active and /usr/lib/nexcage
// read-only after the install and after reboots, the libcrun driver, a busybox container inside,
// `apt-get remove` + install + reboot (the unit stayed masked before), a reinstall that keeps an edited
// conffile and an admin's disable, and a purge that leaves nothing. The package goes into the machine,
// never onto this host.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BootedSystem, type Result } from "./booted-system.js";
import { Cleanup, makeBundle, REPO, waitFor } from "./helpers.js";

const UNIT = "usr-lib-nexcage.mount";
const version: string = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;
const DEB_NAME = `nexcage_${version}_amd64.deb`;
const DEB = join(REPO, "dist", DEB_NAME);
const LIBCRUN = "crun driver: libcrun (/usr/lib/nexcage/libcrun.so.1.8.1)";
const cleanup = new Cleanup();

function host(cmd: string, args: string[], timeout = 120_000): Result {
  // gzip and no lintian: the same package in seconds (e2e/deb.test.ts runs lintian on it)
  const env = { ...process.env, NEXCAGE_DEB_COMPRESSION: "gzip", NEXCAGE_LINTIAN: "0" };
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: "utf8", timeout, env });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: `${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

/** Package names of a Depends/Recommends field (first alternative, no version). */
function packageNames(field: string): string[] {
  return field
    .split(",")
    .map((dep) => dep.split("|")[0]!.replace(/\(.*?\)/g, "").replace(/:any$/, "").trim())
    .filter(Boolean);
}

let sys: BootedSystem;
const times: Record<string, number> = {};
const g = (argv: string[]) => sys.exec(argv);
const ok = (argv: string[]): string => {
  const r = g(argv);
  expect(r.code, `${argv.join(" ")}: ${r.stderr}${r.stdout}`).toBe(0);
  return r.stdout;
};
const apt = (args: string[]) => ok(["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=60", ...args]);
const unitState = () => ({
  active: g(["systemctl", "is-active", UNIT]).stdout.trim(),
  enabled: g(["systemctl", "is-enabled", UNIT]).stdout.trim(),
});
const mountOptions = () => g(["findmnt", "-n", "-o", "OPTIONS", "/usr/lib/nexcage"]).stdout.trim();

/** The unit active and enabled, one read-only mount, the executable unwritable, the libcrun driver. */
function expectGuarded(): void {
  expect(unitState()).toEqual({ active: "active", enabled: "enabled" });
  expect(mountOptions()).toMatch(/^ro,/);
  expect(g(["findmnt", "-n", "/usr/lib/nexcage"]).stdout.trim().split("\n")).toHaveLength(1);
  const write = g(["touch", "/usr/lib/nexcage/nexcage"]);
  expect(write.code).not.toBe(0);
  expect(write.stderr).toMatch(/Read-only file system/);
  expect(ok(["nexcage", "--version"])).toContain(LIBCRUN);
}

beforeAll(async () => {
  await BootedSystem.sweep();
  let t = Date.now();
  const build = host(join(REPO, "packaging", "build-deb"), [], 600_000);
  if (build.code !== 0) throw new Error(`packaging/build-deb failed:\n${build.stderr.slice(-3000)}`);
  times["build-deb"] = Date.now() - t;
  // the guest has no network: every dependency must be in the image
  const needs = ["Depends", "Recommends"].flatMap((f) => packageNames(host("dpkg-deb", ["--field", DEB, f]).stdout));
  t = Date.now();
  const image = host("bash", [join(REPO, "scripts", "bookworm-systemd-image.sh"), ...needs], 600_000);
  if (image.code !== 0) throw new Error(`scripts/bookworm-systemd-image.sh failed:\n${image.stderr.slice(-3000)}`);
  times["image"] = Date.now() - t;
  sys = new BootedSystem(image.stdout.trim().split("\n").pop()!, "deb");
  t = Date.now();
  await sys.boot();
  times["boot"] = Date.now() - t;
  cpSync(DEB, join(sys.root, "root", DEB_NAME));
}, 1_300_000);

afterAll(async () => {
  console.log(`deb-systemd: ${Object.entries(times).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(", ")}`);
  if (sys?.root && !/Reached target.*Multi-User/.test(sys.console())) console.log(sys.console().slice(-3000));
  await sys?.destroy();
  await cleanup.run();
}, 180_000);

// apt, reboots and dpkg under the load of the other suites: minutes, not the default minute
describe("the .deb on a booted Debian 12 with systemd", { timeout: 300_000 }, () => {
  it("apt-get install ./nexcage_*.deb: usr-lib-nexcage.mount enabled and active, /usr/lib/nexcage read-only, the libcrun driver", () => {
    expect(sys.exec(["systemctl", "--version"]).stdout).toMatch(/^systemd 252\b/);
    expect(ok(["cat", "/proc/1/comm"]).trim()).toBe("systemd");
    const out = apt(["install", `./${DEB_NAME}`]);
    expect(out).toMatch(/Setting up nexcage/);
    expect(ok(["dpkg-query", "-W", "-f=${Status}", "nexcage"])).toBe("install ok installed");
    expectGuarded();
  });

  it("runs a busybox container inside: create, start, state, kill, delete (crun backend, libcrun driver)", async () => {
    const id = `${sys.name}-c1`;
    const bundle = makeBundle(["/bin/sh", "-c", "echo inside > /tmp/out; exec sleep 1000"]);
    cleanup.dir(bundle);
    cpSync(bundle, join(sys.root, "root", "bundle"), { recursive: true, verbatimSymlinks: true });
    try {
      const created = g(["nexcage", "--debug", "create", "--bundle", "/root/bundle", id]);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toMatch(/crun driver: libcrun \(backends\.crun\.driver is auto; \/usr\/lib\/nexcage\/nexcage is on a read-only mount/);
      const state = () => JSON.parse(ok(["nexcage", "state", id]));
      expect(state()).toMatchObject({ id, status: "created", bundle: "/root/bundle" });
      ok(["nexcage", "start", id]);
      const out = join(sys.root, "root", "bundle", "rootfs", "tmp", "out");
      expect(await waitFor(async () => existsSync(out) && readFileSync(out, "utf8") !== "")).toBe(true);
      expect(readFileSync(out, "utf8")).toBe("inside\n");
      expect(state().status).toBe("running");
      ok(["nexcage", "kill", id, "KILL"]);
      expect(await waitFor(async () => state().status === "stopped")).toBe(true);
      ok(["nexcage", "delete", id]);
      const gone = g(["nexcage", "state", id]);
      expect(gone.code).not.toBe(0);
      expect(gone.stderr).toMatch(/does not exist/);
      expect(existsSync(join(sys.root, "run", "nexcage", id))).toBe(false);
    } finally {
      g(["nexcage", "delete", "--force", id]);
    }
  });

  it("after a reboot the unit mounts /usr/lib/nexcage read-only again", async () => {
    expect(await sys.reboot()).toBe(BootedSystem.REBOOTED);
    expectGuarded();
  });

  it("apt-get remove, then install again, then reboot: the unit is unmasked, enabled and active each time", async () => {
    apt(["remove", "nexcage"]);
    expect(ok(["dpkg-query", "-W", "-f=${Status}", "nexcage"])).toBe("deinstall ok config-files");
    expect(g(["findmnt", "/usr/lib/nexcage"]).code).not.toBe(0);
    expect(g(["systemctl", "is-enabled", UNIT]).stdout.trim()).toBe("masked");
    const out = apt(["install", `./${DEB_NAME}`]);
    expect(out).not.toMatch(/disabled or a static unit/);
    expectGuarded();
    expect(await sys.reboot()).toBe(BootedSystem.REBOOTED);
    expectGuarded();
  });

  it("apt-get install --reinstall keeps an edited conffile and mounts /usr/lib/nexcage read-only again", () => {
    const conf = join(sys.root, "etc", "nexcage", "config.json");
    const edited = readFileSync(conf, "utf8").replace('"defaultBackend": "crun"', '"defaultBackend": "crun" ');
    expect(edited).not.toBe(readFileSync(conf, "utf8"));
    writeFileSync(conf, edited);
    apt(["install", "--reinstall", `./${DEB_NAME}`]);
    expect(readFileSync(conf, "utf8")).toBe(edited);
    expectGuarded();
  });

  it("keeps an admin's `systemctl disable` across a reinstall (nexcage then uses the crun command), and enable --now restores it", () => {
    ok(["systemctl", "disable", "--now", UNIT]);
    apt(["install", "--reinstall", `./${DEB_NAME}`]);
    expect(unitState()).toEqual({ active: "inactive", enabled: "disabled" });
    expect(g(["findmnt", "/usr/lib/nexcage"]).code).not.toBe(0);
    expect(ok(["nexcage", "--version"])).toMatch(/crun driver: cli \(/);
    ok(["systemctl", "enable", "--now", UNIT]);
    expectGuarded();
  });

  it("apt-get purge leaves no unit, link, mask, mount, state or file, also after a reboot", async () => {
    const files = ok(["dpkg", "-L", "nexcage"]).trim().split("\n");
    expect(files.length).toBeGreaterThan(10);
    apt(["purge", "nexcage"]);
    expect(g(["dpkg-query", "-W", "-f=${Status}", "nexcage"]).stdout).not.toMatch(/installed|config-files/);
    const shared = new Set(["/.", "/etc", "/usr", "/usr/bin", "/usr/lib", "/usr/share", "/usr/share/doc", "/usr/share/man", "/usr/share/man/man1", "/lib", "/lib/systemd", "/lib/systemd/system", "/usr/lib/tmpfiles.d", "/usr/share/bash-completion", "/usr/share/bash-completion/completions", "/usr/share/lintian", "/usr/share/lintian/overrides"]);
    const left = () => [
      ...files.filter((f) => !shared.has(f) && existsSync(join(sys.root, f))),
      ...ok(["find", "/etc", "/lib/systemd", "/usr/lib/systemd", "/var/lib/systemd", "/run", "-name", "*nexcage*"]).trim().split("\n").filter(Boolean),
    ];
    const gone = async () => {
      expect(left()).toEqual([]);
      expect(g(["findmnt", "/usr/lib/nexcage"]).code).not.toBe(0);
      expect(ok(["systemctl", "show", "-p", "LoadState", UNIT]).trim()).toBe("LoadState=not-found");
    };
    await gone();
    expect(await sys.reboot()).toBe(BootedSystem.REBOOTED);
    await gone();
  });
});
