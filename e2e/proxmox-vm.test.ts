import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readProcStat } from "../src/proc/stat.js";
import { configFile, makeBundle, nexcage, nexcageMessage, tempDir, waitFor } from "./helpers.js";
import { ensureGuestImage, guestAccel } from "../test/sim/guest/image.js";
import { pveVmSimSuite, SIM, textOr } from "./pve-sim.js";

/**
 * The proxmox-vm backend through the qm/pvesh stand-in (test/sim): every VM that runs is a real
 * `kvm`-named host process, so host pids, start times, shutdown and stop are real. Nothing is mocked.
 */
const { cleanup, sim } = pveVmSimSuite(840_000_000);
const { simRoot, env, base, template: TEMPLATE, confDir, snippetDir, settings, config, qm } = sim;
const root = cleanup.dir(tempDir("pve-vm-root"));
const n = (args: string[], cfg = config) => nexcage(root, args, { config: cfg, env });
const rec = (id: string) => JSON.parse(readFileSync(join(root, id, "state.json"), "utf8"));
const vmidOf = (id: string) => rec(id).nexcage.ref.vmid as number;
const state = async (id: string) => JSON.parse((await n(["state", id])).stdout);
const confOf = (vmid: number) => readFileSync(join(confDir, `${vmid}.conf`), "utf8");
const vmConfs = () => readdirSync(confDir).filter((f) => f.endsWith(".conf") && f !== `${TEMPLATE}.conf`);
const snippets = () => readdirSync(snippetDir);
const disks = (vmid: number) => existsSync(join(simRoot, "var/lib/ctstore/images", String(vmid)));
/** exited: no such process, or a zombie its (reaping) parent has not collected yet */
const gone = (pid: number) => [undefined, "Z", "X"].includes(readProcStat(pid)?.state);
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");

function appBundle(edit?: (s: Record<string, any>) => void): string {
  const bundle = makeBundle(["/bin/app", "--port", "8080", "two words"], (s) => {
    s["process"].env = ["PATH=/bin", "GREETING=hello world"];
    s["process"].cwd = "/srv";
    s["process"].user = { uid: 1000, gid: 1000 };
    s["hostname"] = "oci-app";
    s["linux"].resources = { memory: { limit: 768 * 1024 * 1024 }, cpu: { cpus: "0-1" } };
    edit?.(s);
  });
  return cleanup.dir(bundle);
}

describe("proxmox-vm through qm", () => {
  it("create → a stopped clone sized and described from the bundle, its process in a cloud-init snippet; start → the host pid of its QEMU; SIGTERM ends it; delete leaves nothing", async () => {
    const id = cleanup.nexcage(root, "vm-life");
    const c = await n(["create", "-b", appBundle(), id]);
    expect(c, c.stderr).toMatchObject({ code: 0 });
    const vmid = vmidOf(id);
    expect(vmid).toBeGreaterThanOrEqual(base);
    expect(await state(id)).toMatchObject({ id, status: "created", pid: 0 });
    const conf = confOf(vmid);
    expect(conf).toMatch(/^#nexcage OCI container vm-life$/m);
    expect(conf).toMatch(/^name: vm-life$/m);
    expect(conf).toMatch(/^memory: 768$/m);
    expect(conf).toMatch(/^cores: 2$/m);
    expect(conf).toMatch(/^tags: nexcage$/m);
    expect(conf).toMatch(new RegExp(`^scsi0: ctstore:${vmid}/vm-${vmid}-disk-0\\.raw,size=256K$`, "m"));
    expect(conf).toMatch(new RegExp(`^virtio15: ctstore:${vmid}/vm-${vmid}-disk-1\\.raw,serial=nexcage-status,size=`, "m")); // the status disk
    const snippet = rec(id).nexcage.ref.snippet as string;
    expect(conf).toContain(`cicustom: user=local:snippets/${snippet.split("/").pop()}`);
    const userData = readFileSync(snippet, "utf8");
    expect(userData).toMatch(/^#cloud-config\n/);
    expect(userData).toContain('hostname: "oci-app"');
    expect(userData).toContain('ExecStart=\\"/bin/app\\" \\"--port\\" \\"8080\\" \\"two words\\"');
    expect(userData).toContain('Environment=\\"GREETING=hello world\\"');
    expect(userData).toContain("WorkingDirectory=/srv\\nUser=1000\\nGroup=1000");
    expect((await qm(["status", String(vmid)])).stdout.trim()).toBe("status: stopped");

    expect((await n(["start", id])).code).toBe(0);
    const s = await state(id);
    expect(s.status).toBe("running");
    const pid = s.pid as number;
    expect(readProcStat(pid)?.startTime).toBe(rec(id).nexcage.pidStartTime);
    const argv = cmdline(pid);
    expect(argv[0]).toBe("kvm"); // the stand-in's QEMU, as qemu-server names it
    expect(argv[argv.indexOf("-pidfile") + 1]).toBe(join(simRoot, "var/run/qemu-server", `${vmid}.pid`));
    expect((await qm(["status", String(vmid), "--verbose"])).stdout).toMatch(new RegExp(`^pid: ${pid}$`, "m"));
    expect(nexcageMessage((await n(["start", id])).stderr)).toBe("cannot start an already running container");

    // this template's disk boots nothing: the ACPI shutdown goes unanswered and the VM is stopped after
    // shutdownTimeoutSeconds ("in a real guest" below has a guest that powers off)
    expect((await n(["kill", id, "TERM"])).code).toBe(0);
    expect(gone(pid)).toBe(true);
    expect(await state(id)).toMatchObject({ status: "stopped", pid: 0 });
    expect((await n(["delete", id])).code).toBe(0);
    expect(existsSync(join(confDir, `${vmid}.conf`))).toBe(false);
    expect(disks(vmid)).toBe(false);
    expect(existsSync(snippet)).toBe(false);
    expect(existsSync(join(root, id))).toBe(false);
  });

  it("SIGKILL is qm stop; other signals are refused and change nothing; kill on a stopped VM says not running; delete --force removes a running VM", async () => {
    const bundle = appBundle();
    const a = cleanup.nexcage(root, "vm-kill");
    const b = cleanup.nexcage(root, "vm-force");
    for (const id of [a, b]) expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    const pid = (await state(a)).pid as number;
    const usr1 = await n(["kill", a, "USR1"]);
    expect(usr1.code).toBe(1);
    expect(nexcageMessage(usr1.stderr)).toBe("proxmox-vm cannot deliver SIGUSR1 to a VM: SIGTERM, SIGINT or SIGPWR shut it down, SIGKILL stops it");
    expect((await state(a)).status).toBe("running");
    expect((await n(["kill", a, "KILL"])).code).toBe(0);
    expect(gone(pid)).toBe(true);
    expect((await state(a)).status).toBe("stopped");
    expect(nexcageMessage((await n(["kill", a, "KILL"])).stderr)).toBe("container not running");

    const vb = vmidOf(b);
    const pb = (await state(b)).pid as number;
    expect(nexcageMessage((await n(["delete", b])).stderr)).toBe(`cannot delete container ${b} that is not stopped: running`);
    expect((await n(["delete", "--force", b])).code).toBe(0);
    expect(gone(pb)).toBe(true);
    expect(existsSync(join(confDir, `${vb}.conf`))).toBe(false);
    expect((await n(["delete", a])).code).toBe(0);
  });

  it("a guest that ignores the ACPI shutdown: stopped after shutdownTimeoutSeconds when configured, else an actionable error and the VM keeps running", async () => {
    const bundle = appBundle();
    const id = cleanup.nexcage(root, "vm-noacpi");
    expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    const vmid = vmidOf(id);
    expect((await n(["kill", id, "KILL"])).code).toBe(0);
    expect((await qm(["set", String(vmid), "--acpi", "0"])).exitCode).toBe(0);
    // record says stopped now; a new container on the same kind of VM shows both policies
    expect((await n(["delete", id])).code).toBe(0);

    const keep = configFile(settings({ stopAfterShutdownTimeout: false }));
    const k = cleanup.nexcage(root, "vm-noacpi-keep");
    expect((await n(["create", "-b", bundle, k], keep)).code).toBe(0);
    expect((await qm(["set", String(vmidOf(k)), "--acpi", "0"])).exitCode).toBe(0);
    expect((await n(["start", k], keep)).code).toBe(0);
    const refused = await n(["kill", k, "TERM"], keep);
    expect(refused.code).toBe(1);
    expect(nexcageMessage(refused.stderr)).toMatch(new RegExp(`^kill failed: Proxmox VM ${vmidOf(k)} did not power off in time \\(the guest ignored the ACPI shutdown\\)`));
    expect((await state(k)).status).toBe("running");

    const started = Date.now();
    expect((await n(["kill", k, "INT"], keep)).code).toBe(1);
    expect((await n(["kill", k, "PWR"], config)).code).toBe(0); // same VM, the default policy: qm stop after the timeout
    expect(Date.now() - started).toBeGreaterThan(3000);
    expect((await state(k)).status).toBe("stopped");
    expect((await n(["delete", k])).code).toBe(0);
  });

  it("pause and resume suspend the VM's vCPUs; a paused VM refuses a graceful shutdown but not SIGKILL", async () => {
    const id = cleanup.nexcage(root, "vm-pause");
    expect((await n(["run", "-d", "-b", appBundle(), id])).code).toBe(0);
    const pid = (await state(id)).pid as number;
    expect((await n(["pause", id])).code).toBe(0);
    expect(await state(id)).toMatchObject({ status: "paused", pid });
    expect((await qm(["status", String(vmidOf(id)), "--verbose"])).stdout).toMatch(/^qmpstatus: paused$/m); // QMP stop
    const term = await n(["kill", id, "TERM"]);
    expect(nexcageMessage(term.stderr)).toBe(`kill failed: Proxmox VM ${vmidOf(id)} is paused: resume it first, or kill it with SIGKILL`);
    expect((await n(["resume", id])).code).toBe(0);
    expect((await state(id)).status).toBe("running");
    expect((await n(["pause", id])).code).toBe(0);
    expect((await n(["kill", id, "KILL"])).code).toBe(0);
    expect(await waitFor(async () => (await state(id)).status === "stopped")).toBe(true);
    expect((await n(["delete", id])).code).toBe(0);
  });

  it("a VM removed behind nexcage's back reads stopped and delete clears the record; a locked VM says how to unlock", async () => {
    const gone = cleanup.nexcage(root, "vm-gone");
    expect((await n(["run", "-d", "-b", appBundle(), gone])).code).toBe(0);
    const vg = vmidOf(gone);
    expect((await qm(["stop", String(vg)])).exitCode).toBe(0);
    expect((await qm(["destroy", String(vg), "--purge"])).exitCode).toBe(0);
    expect(await state(gone)).toMatchObject({ status: "stopped", pid: 0 });
    expect((await n(["delete", gone])).code).toBe(0);
    expect(existsSync(join(root, gone))).toBe(false);

    const locked = cleanup.nexcage(root, "vm-locked");
    expect((await n(["create", "-b", appBundle(), locked])).code).toBe(0);
    const vl = vmidOf(locked);
    expect((await qm(["set", String(vl), "--lock", "backup"])).exitCode).toBe(0);
    const r = await n(["start", locked]);
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toBe(`start failed: Proxmox VM ${vl} is locked (backup): another Proxmox operation holds it; retry, or 'qm unlock ${vl}' if it crashed`);
    expect((await state(locked)).status).toBe("created");
    expect((await qm(["unlock", String(vl)])).exitCode).toBe(0);
    expect((await n(["start", locked])).code).toBe(0);
    expect((await n(["delete", "--force", locked])).code).toBe(0);
  });

  it("a snippet the VM cannot find fails the start with the setting to check; the container stays created", async () => {
    const elsewhere = cleanup.dir(tempDir("not-the-snippet-storage"));
    const cfg = configFile(settings({ snippetDir: elsewhere }));
    const id = cleanup.nexcage(root, "vm-nosnip");
    expect((await n(["create", "-b", appBundle(), id], cfg)).code).toBe(0);
    const r = await n(["start", id], cfg);
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(/^start failed: cloud-init snippet local:snippets\/nexcage-vm-nosnip-[a-z0-9]+\.yaml not found: check backends\.proxmox-vm\.snippetStorage and snippetDir$/);
    expect((await state(id)).status).toBe("created");
    expect((await n(["delete", id], cfg)).code).toBe(0);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it.each([
    ["a storage without images content", { storage: "local" }, /^create failed: storage 'local' cannot hold VM disks \(no 'images' content\)/],
    ["a storage that does not exist", { storage: "nope" }, /^create failed: storage 'nope' does not exist on this Proxmox node/],
    ["a template that does not exist", { template: base + 97 }, new RegExp(`^create failed: template VM ${base + 97} does not exist on this node: check backends\\.proxmox-vm\\.template$`)],
    ["a linked clone of disks that cannot be linked", { fullClone: false }, /^create failed: the template's disk ctstore:\d+\/vm-\d+-disk-0\.raw cannot be cloned linked: set backends\.proxmox-vm\.fullClone to true$/],
    ["a gateway Proxmox would reject only after the clone", { gateway: "300.1.1.1" }, /backends\.proxmox-vm\.gateway.*an IPv4 address/],
    ["a disk image that does not exist", { template: undefined, image: "/nonexistent/disk.qcow2" }, /^create failed: disk image \/nonexistent\/disk\.qcow2 not found: check backends\.proxmox-vm\.image$/],
    ["a snippet directory that does not exist", { snippetDir: "/nonexistent/snippets" }, /^create failed: cannot write the cloud-init snippet into \/nonexistent\/snippets \(ENOENT\): check backends\.proxmox-vm\.snippetDir$/],
  ])("a failing create (%s) rolls back: no VM, no disks, no snippet, no record", async (_name, over, message) => {
    const id = cleanup.nexcage(root, "vm-fail");
    const before = snippets();
    const vmsBefore = vmConfs();
    const r = await n(["create", "-b", appBundle(), id], configFile(settings(over)));
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toMatch(message);
    expect(existsSync(join(root, id))).toBe(false);
    expect(snippets()).toEqual(before);
    expect(vmConfs()).toEqual(vmsBefore);
    for (let v = base; v <= base + 90; v++) if (!vmsBefore.includes(`${v}.conf`)) expect(disks(v)).toBe(false);
  });

  it("from a disk image: one qm create imports it with a cloud-init drive; the VM starts", async () => {
    const image = join(simRoot, "import.raw");
    writeFileSync(image, Buffer.alloc(128 * 1024));
    const cfg = configFile(settings({ template: undefined, image }));
    const id = cleanup.nexcage(root, "vm-image");
    const c = await n(["create", "-b", appBundle(), id], cfg);
    expect(c, c.stderr).toMatchObject({ code: 0 });
    const vmid = vmidOf(id);
    const conf = confOf(vmid);
    expect(conf).toMatch(new RegExp(`^scsi0: ctstore:${vmid}/vm-${vmid}-disk-0\\.raw,size=128K$`, "m"));
    expect(conf).toMatch(new RegExp(`^ide2: ctstore:${vmid}/vm-${vmid}-cloudinit\\.qcow2,media=cdrom$`, "m"));
    expect(conf).toMatch(/^boot: order=scsi0$/m);
    expect((await n(["start", id], cfg)).code).toBe(0);
    expect((await state(id)).status).toBe("running");
    expect((await n(["delete", "--force", id], cfg)).code).toBe(0);
    expect(disks(vmid)).toBe(false);
  });

  it("VMIDs held by other guests are skipped; an exhausted range says so and makes nothing", async () => {
    const other = base + 95;
    expect((await qm(["create", String(other), "--name", "someone-else", "--memory", "64"])).exitCode).toBe(0);
    const before = confOf(other);
    const cfg = configFile(settings({ vmidRange: { min: other, max: other + 1 } }));
    const id = cleanup.nexcage(root, "vm-skip");
    expect((await n(["create", "-b", appBundle(), id], cfg)).code).toBe(0);
    expect(vmidOf(id)).toBe(other + 1);
    expect(confOf(other)).toBe(before);
    const full = configFile(settings({ vmidRange: { min: other, max: other } }));
    const r = await n(["create", "-b", appBundle(), cleanup.nexcage(root, "vm-nofree")], full);
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toBe(`create failed: no free VMID in ${other}-${other}`);
    expect(existsSync(join(root, "vm-nofree"))).toBe(false);
    expect((await n(["delete", id], cfg)).code).toBe(0);
    expect((await qm(["destroy", String(other), "--purge"])).exitCode).toBe(0);
  });

  it("stop = graceful shutdown then done; a VM turned into a template behind nexcage's back cannot start", async () => {
    const id = cleanup.nexcage(root, "vm-stop");
    expect((await n(["run", "-d", "-b", appBundle(), id])).code).toBe(0);
    const pid = (await state(id)).pid as number;
    expect((await n(["stop", id, "--timeout", "10"])).code).toBe(0);
    expect(gone(pid)).toBe(true);
    expect((await state(id)).status).toBe("stopped");
    expect((await n(["delete", id])).code).toBe(0);

    const t = cleanup.nexcage(root, "vm-templated");
    expect((await n(["create", "-b", appBundle(), t])).code).toBe(0);
    const vt = vmidOf(t);
    expect((await qm(["template", String(vt)])).exitCode).toBe(0);
    const r = await n(["start", t]);
    expect(r.code).toBe(1);
    expect(nexcageMessage(r.stderr)).toBe(`start failed: Proxmox VM ${vt} is a template and cannot be started`);
    expect((await n(["delete", t])).code).toBe(0);
    expect(existsSync(join(confDir, `${vt}.conf`))).toBe(false);
  });

  it("without a range: VMIDs from pvesh nextid, and parallel creates that got the same one retry with the next", async () => {
    const cfg = configFile(settings({ vmidRange: undefined }));
    const bundle = appBundle();
    const ids = ["vm-next1", "vm-next2", "vm-next3"].map((i) => cleanup.nexcage(root, i));
    const rs = await Promise.all(ids.map((id) => n(["create", "-b", bundle, id], cfg)));
    expect(rs.map((r) => r.code), rs.map((r) => r.stderr).join("\n")).toEqual([0, 0, 0]);
    const vmids = ids.map(vmidOf);
    expect(new Set(vmids).size).toBe(3);
    for (const v of vmids) expect(v).toBeLessThan(base); // nextid starts at 100 on this simulated node
    for (const id of ids) expect((await n(["delete", id], cfg)).code).toBe(0);
  });

  it("three parallel creates get three different VMIDs", async () => {
    const bundle = appBundle();
    const ids = ["vm-par1", "vm-par2", "vm-par3"].map((i) => cleanup.nexcage(root, i));
    const rs = await Promise.all(ids.map((id) => n(["create", "-b", bundle, id])));
    expect(rs.map((r) => r.code), rs.map((r) => r.stderr).join("\n")).toEqual([0, 0, 0]);
    expect(new Set(ids.map(vmidOf)).size).toBe(3);
    for (const id of ids) expect((await n(["delete", id])).code).toBe(0);
  });

  it("routing: an id pattern and the backend annotation send containers to proxmox-vm, the rest run on crun in the same root", async () => {
    const cfg = configFile(settings({}, { defaultBackend: "crun", routing: [{ name: "vms", id: "vmr-*", backend: "proxmox-vm" }] }));
    const byId = cleanup.nexcage(root, "vmr-1");
    const byAnnotation = cleanup.nexcage(root, "anno-vm");
    const plain = cleanup.nexcage(root, "plain-crun");
    expect((await n(["run", "-d", "-b", appBundle(), byId], cfg)).code).toBe(0);
    expect((await n(["run", "-d", "-b", appBundle((s) => (s["annotations"] = { "org.nexcage.backend": "proxmox-vm" })), byAnnotation], cfg)).code).toBe(0);
    const crunBundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const p = await n(["run", "-d", "-b", crunBundle, plain], cfg);
    expect(p, p.stderr).toMatchObject({ code: 0 });
    expect(rec(byId).nexcage).toMatchObject({ backend: "proxmox-vm", routeReason: "routing rule vms" });
    expect(rec(byAnnotation).nexcage).toMatchObject({ backend: "proxmox-vm", routeReason: "annotation org.nexcage.backend" });
    expect(rec(plain).nexcage).toMatchObject({ backend: "crun", routeReason: "defaultBackend" });
    const listed = JSON.parse((await n(["list", "--format", "json"], cfg)).stdout) as Array<{ id: string; status: string; pid: number }>;
    for (const id of [byId, byAnnotation, plain]) expect(listed.find((c) => c.id === id)?.status).toBe("running");
    expect(cmdline(listed.find((c) => c.id === byId)!.pid)[0]).toBe("kvm");
    expect(cmdline(listed.find((c) => c.id === plain)!.pid)).toContain("sleep");
    for (const id of [byId, byAnnotation, plain]) expect((await n(["delete", "--force", id], cfg)).code).toBe(0);
  });

  it("health: qm, pvesh, source and snippet storage; unusable without a template or image", async () => {
    const h = await n(["health"]);
    expect(h, h.stderr).toMatchObject({ code: 0 });
    expect(h.stdout).toContain("proxmox-vm (default): ok\n");
    expect(h.stdout).toContain(`  qm: ${join(SIM, "qm")}\n`);
    expect(h.stdout).toContain(`  source: template VM ${TEMPLATE}; storage ctstore, bridge vmbr0\n`);
    const bad = await n(["health"], configFile(settings({ template: undefined })));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("proxmox-vm (default): UNAVAILABLE\n  qm: ");
    expect(bad.stdout).toContain("  source: no template or image configured;");
    expect(nexcageMessage(bad.stderr)).toBe("default backend proxmox-vm is unusable");
  });

  it("what a VM cannot honour is refused before anything is made", async () => {
    const before = snippets();
    const vmsBefore = vmConfs();
    for (const [id, edit, message] of [
      ["vm-tty", (s: Record<string, any>) => (s["process"].terminal = true), /proxmox-vm cannot honour process\.terminal/],
      ["vm-bind", (s: Record<string, any>) => s["mounts"].push({ destination: "/data", type: "bind", source: "/srv", options: ["rbind"] }), /proxmox-vm cannot honour a bind mount at \/data/],
    ] as const) {
      const r = await n(["create", "-b", appBundle(edit), cleanup.nexcage(root, id)]);
      expect(r.code).toBe(1);
      expect(nexcageMessage(r.stderr)).toMatch(message);
      expect(existsSync(join(root, id))).toBe(false);
    }
    expect(snippets()).toEqual(before);
    expect(vmConfs()).toEqual(vmsBefore);
  });
});

/**
 * A guest that boots: the Debian image of test/sim/guest as a template VM with the guest agent, so
 * the bundle's process really runs in a VM. Three guests (one vCPU each: an SMP guest under TCG on
 * a loaded host is much slower), booted in parallel in beforeAll (each costs a minute or two of
 * CPU under TCG): `run` in the foreground, its SIGTERM a clean shutdown and its exit code the
 * process's; the life cycle with exec, ps and a reboot; kill TERM as a clean shutdown the process sees.
 */
const accel = await guestAccel();
describe(`proxmox-vm in a real guest (${accel})`, () => {
  const REAL = base + 98;
  const real = configFile(settings({ template: REAL, agent: true, shutdownTimeoutSeconds: 240 }));
  // a guest's shutdown or boot under TCG on a loaded machine takes minutes
  const nr = (args: string[], timeoutMs = 900_000, onSpawn?: (pid: number) => void) => nexcage(root, args, { config: real, env, timeoutMs, onSpawn });
  /** what the process saw, written where exec can read it */
  const OBSERVE = 'echo "uid=$(id -u) gid=$(id -g) cwd=$(pwd) nofile=$(ulimit -n) host=$(hostname) greeting=$GREETING args=$0,$1" > /tmp/observed';
  const guestBundle = (onTerm: number) => appBundle((s) => {
    s["process"].args = ["/bin/sh", "-c", `${OBSERVE}; trap 'exit ${onTerm}' TERM; while :; do sleep 1; done`, "first", "two words"];
    s["process"].env = ["PATH=/usr/bin:/bin", "GREETING=hello world"];
    s["process"].cwd = "/tmp";
    s["process"].rlimits = [{ type: "RLIMIT_NOFILE", soft: 1234, hard: 2345 }];
    s["linux"].resources = { memory: { limit: 512 * 1024 * 1024 } };
  });
  const life = cleanup.nexcage(root, "vm-real-life");
  const term = cleanup.nexcage(root, "vm-real-term");
  const fg = cleanup.nexcage(root, "vm-real-run");
  let foreground: Promise<{ code: number | null; stderr: string }>;
  let foregroundPid = 0;
  /** VMIDs by container id, kept for the report of a guest that failed (the record goes with the container) */
  const vmids = new Map<string, number>();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** What a guest was doing: qm's status of it and the end of its serial console (the stand-in logs serial0 next to its socket). */
  async function guestReport(id: string): Promise<string> {
    const vmid = vmids.get(id) ?? (existsSync(join(root, id, "state.json")) ? vmidOf(id) : undefined);
    if (vmid === undefined) return `${id}: no VM recorded`;
    const status = await qm(["status", String(vmid), "--verbose"]);
    const log = textOr(join(simRoot, "var/run/qemu-server", `${vmid}.serial0.log`)) || "(no serial log)";
    const tail = log.replace(/\r/g, "").split("\n").slice(-40).join("\n");
    return `${id} (VM ${vmid}, load ${readFileSync("/proc/loadavg", "utf8").trim()}):\nqm status: ${status.stdout.trim().replace(/\n/g, "; ")} ${status.stderr.trim()}\nserial0, last lines:\n${tail}`;
  }
  /** the agent answers once the guest has booted; the process runs once cloud-init has started it */
  async function ready(id: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const r = await nr(["exec", id, "/bin/cat", "/tmp/observed"]);
      if (r.code === 0 && r.stdout !== "") {
        vmids.set(id, vmidOf(id));
        return;
      }
      await sleep(3000);
    }
    throw new Error(`${id}: the process did not come up in the guest\n${await guestReport(id)}`);
  }
  const exitRecorded = (id: string) => textOr(join(root, id, "proxmox-vm.exit"));

  beforeAll(async () => {
    const image = await ensureGuestImage();
    const made = await qm(["create", String(REAL), "--name", "debian-12", "--memory", "512", "--agent", "1", "--net0", "virtio,bridge=vmbr0", "--scsihw", "virtio-scsi-pci", "--scsi0", `ctstore:0,import-from=${image}`, "--ide2", "ctstore:cloudinit", "--boot", "order=scsi0", "--serial0", "socket"]);
    expect(made.exitCode, made.stderr).toBe(0);
    expect((await qm(["template", String(REAL)])).exitCode).toBe(0);
    const [a, b] = await Promise.all([nr(["run", "-d", "-b", guestBundle(42), life]), nr(["run", "-d", "-b", guestBundle(42), term])]);
    expect(a, a.stderr).toMatchObject({ code: 0 });
    expect(b, b.stderr).toMatchObject({ code: 0 });
    // its whole life in one call: the boot of three guests, then the shutdown of its own
    foreground = nr(["run", "-b", guestBundle(3), fg], 1_500_000, (pid) => (foregroundPid = pid));
    await Promise.all([ready(life), ready(term), ready(fg)]);
  }, 1_200_000);

  it("run in the foreground: its SIGTERM is a clean guest shutdown (not the end of QEMU), and it exits with the process's exit code once the guest has powered off", async () => {
    const qemu = (await state(fg)).pid as number;
    expect(cmdline(qemu)[0]).toBe("kvm");
    process.kill(foregroundPid, "SIGTERM");
    const r = await foreground;
    expect(r, `${r.stderr}\n${await guestReport(fg)}`).toMatchObject({ code: 3 }); // the trap's: the process saw SIGTERM
    expect(gone(qemu)).toBe(true);
    expect(existsSync(join(root, fg))).toBe(false); // run removes the container when it ends
    expect(existsSync(join(confDir, `${vmids.get(fg)}.conf`))).toBe(false);
  }, 900_000);

  it("the process runs in the guest with its args, env, cwd, user, rlimits and hostname (seen from inside through the agent)", async () => {
    const r = await nr(["exec", life, "/bin/cat", "/tmp/observed"]);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: "uid=1000 gid=1000 cwd=/tmp nofile=1234 host=oci-app greeting=hello world args=first,two words\n" });
    expect(await state(life)).toMatchObject({ status: "running" });
  }, 300_000);

  it("exec through the guest agent: output and exit code attached, --detach, the container's env and user, --user; a missing program is crun's error; ps lists the guest pids", async () => {
    expect(await nr(["exec", life, "/bin/sh", "-c", "echo out-$GREETING; echo err >&2; id -u; exit 4"])).toMatchObject({ code: 4, stdout: "out-hello world\n1000\n", stderr: "err\n" });
    expect(await nr(["exec", "--user", "0", "--cwd", "/etc", "--env", "X=y", life, "/bin/sh", "-c", "echo $(id -u) $(pwd) $X"])).toMatchObject({ code: 0, stdout: "0 /etc y\n" });
    expect(await nr(["exec", "--detach", life, "/bin/sh", "-c", "echo detached > /tmp/detached"])).toMatchObject({ code: 0, stdout: "" });
    let detached = "";
    for (let i = 0; i < 20 && detached === ""; i++) detached = (await nr(["exec", life, "/bin/cat", "/tmp/detached"])).stdout;
    expect(detached).toBe("detached\n");
    const missing = await nr(["exec", life, "/no/such/program"]);
    expect(missing.code).toBe(127);
    expect(nexcageMessage(missing.stderr)).toBe("exec failed: executable file `/no/such/program` not found in the guest: No such file or directory");
    const pids = JSON.parse((await nr(["ps", "--format", "json", life])).stdout) as number[];
    expect(pids.length).toBeGreaterThan(0);
    const comms = await nr(["exec", life, "/bin/sh", "-c", `for p in ${pids.join(" ")}; do cat /proc/$p/comm; done`]);
    expect(comms.stdout.split("\n")).toContain("sh"); // the bundle's /bin/sh is among them
    // the table is the guest's ps -ef (the host's would show other processes under those numbers), narrowed to
    // those pids; its UID column names the guest's user 1000 (cloud-init's default user in this image)
    const table = (await nr(["ps", life])).stdout.trimEnd().split("\n");
    expect(table[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(table.slice(1).some((l) => /^\S+\s+\d+\s+1\s.*\/bin\/sh -c echo "uid=/.test(l)), table.join("\n")).toBe(true);
    expect(table.slice(1).map((l) => l.trim().split(/\s+/)[1])).not.toContain("1"); // the guest's systemd is not the container's
    const custom = (await nr(["ps", life, "-eo", "pid,comm"])).stdout.trimEnd().split("\n");
    expect(custom[0]).toMatch(/^\s*PID COMMAND$/); // ps(1) options as given, as runc passes them (without -e: only processes of its terminal)
    expect(custom.slice(1).map((l) => l.trim().split(/\s+/)[1])).toContain("sh");
  }, 600_000);

  it("a reboot ends the container (runc's answer): the guest powers off after it, the container is stopped", async () => {
    const vmid = vmidOf(life);
    // detached: the agent goes down with the guest, possibly before it could report the command's end
    expect((await nr(["exec", "--detach", "--user", "0", life, "/usr/bin/systemctl", "reboot"])).code).toBe(0);
    let s = await state(life);
    for (let i = 0; i < 200 && s.status !== "stopped"; i++) {
      await sleep(3000);
      s = await state(life);
    }
    expect(s, s.status === "stopped" ? "" : await guestReport(life)).toMatchObject({ status: "stopped", pid: 0 });
    expect((await qm(["status", String(vmid)])).stdout.trim()).toBe("status: stopped");
    expect(exitRecorded(life)).toBe("42"); // the reboot stopped the service with SIGTERM, which the process trapped
    expect((await nr(["delete", life])).code).toBe(0);
    expect(existsSync(join(confDir, `${vmid}.conf`))).toBe(false);
  }, 900_000);

  it("kill TERM: a clean guest shutdown that the process sees as SIGTERM; its exit code is recorded; delete leaves no VM, disk or snippet", async () => {
    const vmid = vmidOf(term);
    const pid = (await state(term)).pid as number;
    const snippet = rec(term).nexcage.ref.snippet as string;
    const k = await nr(["kill", term, "TERM"]);
    expect(k, `${k.stderr}\n${await guestReport(term)}`).toMatchObject({ code: 0 });
    expect(gone(pid)).toBe(true); // qm shutdown waited for the guest to power off
    expect(await state(term)).toMatchObject({ status: "stopped", pid: 0 });
    expect(exitRecorded(term)).toBe("42");
    expect((await nr(["delete", term])).code).toBe(0);
    expect(existsSync(join(confDir, `${vmid}.conf`))).toBe(false);
    expect(disks(vmid)).toBe(false);
    expect(existsSync(snippet)).toBe(false);
  }, 600_000);

});
