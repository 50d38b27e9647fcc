import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readProcStat } from "../src/proc/stat.js";
import { configFile, makeBundle, nexcage, nexcageMessage, tempDir, waitFor } from "./helpers.js";
import { pveSimSuite } from "./pve-sim.js";

/**
 * The proxmox-lxc backend through the pct/pvesh stand-in (test/sim), which runs real LXC. Nothing is
 * mocked: nexcage runs the stand-in's executables as it would run Proxmox's.
 */
const { cleanup, sim } = pveSimSuite();
const { simRoot, env, base, settings, config, pct, templates } = sim;
const root = cleanup.dir(tempDir("pve-root"));
const n = (args: string[], cfg = config) => nexcage(root, args, { config: cfg, env });
const vmidOf = (id: string) => sim.vmidOf(root, id);

/** A process that reports what it was given, handles SIGTERM, and otherwise waits. */
function reportingBundle(): string {
  const script = 'echo "$0 $1 $2" > /out/args; env > /out/env; pwd > /out/cwd; id -u > /out/uid; hostname > /out/hostname; trap "echo term > /out/term; exit 0" TERM; while true; do sleep 1; done';
  const bundle = makeBundle(["sh", "-c", script, "zero", "one", "two words"], (s) => {
    s["process"].env = ["PATH=/bin", "GREETING=hello world"];
    s["process"].cwd = "/tmp";
    s["process"].user = { uid: 1000, gid: 1000 };
    s["hostname"] = "oci-app";
  });
  mkdirSync(join(bundle, "rootfs", "out"), { mode: 0o777 });
  chmodSync(join(bundle, "rootfs", "out"), 0o777);
  chmodSync(bundle, 0o755);
  return cleanup.dir(bundle);
}

describe("proxmox-lxc through pct on real LXC", () => {
  it("create → created CT; start → host pid of the real init; the process got its args, env, cwd, uid, hostname; SIGTERM stops it; delete leaves nothing", async () => {
    const bundle = reportingBundle();
    const id = cleanup.nexcage(root, "pve-life");
    const c = await n(["create", "-b", bundle, id]);
    expect(c, c.stderr).toMatchObject({ code: 0 });
    const vmid = vmidOf(id);
    expect(vmid).toBeGreaterThanOrEqual(base);
    expect(JSON.parse((await n(["state", id])).stdout)).toMatchObject({ id, status: "created", pid: 0 });
    const conf = readFileSync(join(simRoot, "etc/pve/lxc", `${vmid}.conf`), "utf8");
    expect(conf).toMatch(/^hostname: oci-app$/m);
    expect(conf).toMatch(/^unprivileged: 1$/m);
    expect(conf).toMatch(/^lxc\.init\.cwd: \/tmp$/m);
    expect(conf).toMatch(/^lxc\.init\.uid: 1000$/m);
    expect((await pct(["status", String(vmid)])).stdout).toBe("status: stopped");

    expect((await n(["start", id])).code).toBe(0);
    const state = JSON.parse((await n(["state", id])).stdout);
    expect(state.status).toBe("running");
    const pid = state.pid as number;
    expect(readProcStat(pid)).toBeDefined(); // a real process on this host
    expect((await pct(["status", String(vmid), "--verbose"])).stdout).toMatch(new RegExp(`^pid: ${pid}$`, "m"));
    const out = (f: string) => readFileSync(`/proc/${pid}/root/out/${f}`, "utf8").trim();
    expect(await waitFor(async () => existsSync(`/proc/${pid}/root/out/hostname`))).toBe(true);
    expect(out("args")).toBe("zero one two words");
    expect(out("env")).toMatch(/^GREETING=hello world$/m);
    expect(out("cwd")).toBe("/tmp");
    expect(out("uid")).toBe("1000");
    expect(out("hostname")).toBe("oci-app");

    expect((await n(["kill", id, "TERM"])).code).toBe(0);
    expect(await waitFor(async () => JSON.parse((await n(["state", id])).stdout).status === "stopped", 20_000)).toBe(true);
    expect((await n(["delete", id])).code).toBe(0);
    expect(existsSync(join(simRoot, "etc/pve/lxc", `${vmid}.conf`))).toBe(false);
    expect(templates().filter((t) => t.includes("pve-life"))).toEqual([]);
    expect(existsSync(join(root, id))).toBe(false);
  });

  it("SIGKILL from the host stops the CT; delete --force removes a running one", async () => {
    const bundle = reportingBundle();
    const a = cleanup.nexcage(root, "pve-kill");
    const b = cleanup.nexcage(root, "pve-force");
    for (const id of [a, b]) expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    expect((await n(["kill", a, "KILL"])).code).toBe(0);
    expect(await waitFor(async () => JSON.parse((await n(["state", a])).stdout).status === "stopped", 20_000)).toBe(true);
    const k = await n(["kill", a, "KILL"]);
    expect(nexcageMessage(k.stderr)).toBe("container not running");
    const vb = vmidOf(b);
    expect(JSON.parse((await n(["state", b])).stdout).status).toBe("running");
    const refused = await n(["delete", b]);
    expect(nexcageMessage(refused.stderr)).toBe(`cannot delete container ${b} that is not stopped: running`);
    expect((await n(["delete", "--force", b])).code).toBe(0);
    expect(existsSync(join(simRoot, "etc/pve/lxc", `${vb}.conf`))).toBe(false);
    expect((await n(["delete", a])).code).toBe(0);
  });

  it("a CT removed behind nexcage's back reads stopped, refuses kill, and delete clears the record", async () => {
    const bundle = reportingBundle();
    const id = cleanup.nexcage(root, "pve-gone");
    expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    const vmid = vmidOf(id);
    expect((await pct(["destroy", String(vmid), "--force", "--purge"])).exitCode).toBe(0);
    expect(JSON.parse((await n(["state", id])).stdout)).toMatchObject({ status: "stopped", pid: 0 });
    expect(nexcageMessage((await n(["kill", id, "KILL"])).stderr)).toBe("container not running");
    expect((await n(["delete", id])).code).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
  });

  it("a CT locked by another Proxmox operation: start says so and how to unlock; nothing changes", async () => {
    const bundle = reportingBundle();
    const id = cleanup.nexcage(root, "pve-locked");
    expect((await n(["create", "-b", bundle, id])).code).toBe(0);
    const vmid = vmidOf(id);
    expect((await pct(["set", String(vmid), "--lock", "backup"])).exitCode).toBe(0);
    const r = await n(["start", id]);
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toBe(`start failed: Proxmox CT ${vmid} is locked (backup): another Proxmox operation holds it; retry, or 'pct unlock ${vmid}' if it crashed`);
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("created");
    expect((await pct(["unlock", String(vmid)])).exitCode).toBe(0);
    expect((await n(["start", id])).code).toBe(0);
    expect((await n(["delete", "--force", id])).code).toBe(0);
  });

  it("kill --all reaches every process of the CT, not only its init", async () => {
    const bundle = cleanup.dir(makeBundle(["sh", "-c", "sleep 1000 & sleep 1001 & wait; sleep 1000"], (s) => (s["hostname"] = "allk")));
    chmodSync(bundle, 0o755);
    const id = cleanup.nexcage(root, "pve-all");
    expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    const init = JSON.parse((await n(["state", id])).stdout).pid as number;
    const nsOf = (p: string | number) => {
      try {
        return readlinkSync(`/proc/${p}/ns/pid`);
      } catch {
        return undefined;
      }
    };
    const initNs = nsOf(init);
    const ns = () => readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p) && Number(p) !== init && nsOf(p) === initNs && readProcStat(Number(p))?.state !== "Z");
    expect(await waitFor(async () => ns().length >= 2)).toBe(true);
    const sleepers = ns().map(Number);
    expect((await n(["kill", "--all", id, "USR1"])).code).toBe(0);
    // the CT's init (pid 1 there, no handler) ignores USR1; its children die of it
    expect(await waitFor(async () => sleepers.every((p) => readProcStat(p) === undefined || readProcStat(p)!.state === "Z"))).toBe(true);
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("running");
    expect((await n(["delete", "--force", id])).code).toBe(0);
  });

  it("a template directory that is not the template storage's: pct cannot find the template, the create rolls back", async () => {
    const bundle = reportingBundle();
    const wrongDir = cleanup.dir(tempDir("wrong-templates"));
    const r = await n(["create", "-b", bundle, cleanup.nexcage(root, "pve-notmpl")], configFile(settings({ templateDir: wrongDir })));
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(/^create failed: template local:vztmpl\/nexcage-pve-notmpl-[a-z0-9]+\.tar not found: check backends\.proxmox-lxc\.templateStorage and templateDir$/);
    expect(readdirSync(wrongDir)).toEqual([]);
    expect(existsSync(join(root, "pve-notmpl"))).toBe(false);
  });

  it("two parallel creates get two different VMIDs", async () => {
    const bundle = reportingBundle();
    const ids = [cleanup.nexcage(root, "pve-par1"), cleanup.nexcage(root, "pve-par2")];
    const rs = await Promise.all(ids.map((id) => n(["create", "-b", bundle, id])));
    expect(rs.map((r) => r.code)).toEqual([0, 0]);
    const vmids = ids.map(vmidOf);
    expect(new Set(vmids).size).toBe(2);
    for (const id of ids) expect((await n(["delete", id])).code).toBe(0);
  });

  it.each([
    ["storage without rootdir content", { storage: "local" }, /^create failed: storage 'local' cannot hold container root filesystems/],
    ["a storage that does not exist", { storage: "nope" }, /^create failed: storage 'nope' does not exist/],
    ["a template storage that does not exist", { templateStorage: "missing" }, /^create failed: storage 'missing' does not exist/],
  ])("a create failing in pct (%s) rolls back: no CT, no template, no record", async (_name, over, message) => {
    const bundle = reportingBundle();
    const id = cleanup.nexcage(root, "pve-fail");
    const before = templates();
    const r = await n(["create", "-b", bundle, id], configFile(settings(over)));
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(message);
    expect(existsSync(join(root, id))).toBe(false);
    expect(templates()).toEqual(before);
    expect(readdirSync(join(simRoot, "etc/pve/lxc")).filter((f) => f.endsWith(".conf"))).toEqual([]);
  });

  it("what Proxmox cannot express is refused before anything is made", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"], (s) => (s["process"].terminal = true)));
    const before = templates();
    const r = await n(["create", "-b", bundle, cleanup.nexcage(root, "pve-tty")]);
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(/proxmox-lxc cannot honour process\.terminal/);
    expect(templates()).toEqual(before);
    expect(existsSync(join(root, "pve-tty"))).toBe(false);
  });
});
