import { spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attachDirName } from "../src/backends/proxmox-lxc/attach/mapping.js";
import { isSameLiveProcess, readProcStat } from "../src/proc/stat.js";
import { makeBundle, nexcage, nexcageMessage, REPO, tempDir, waitFor } from "./helpers.js";
import { pveSimSuite, textOr } from "./pve-sim.js";

/**
 * proxmox-lxc CTs created attached (--pid-file, as containerd's shim creates them) on the pct
 * stand-in, without containerd: the stdio crossing, and a SIGKILLed proxy at each stage.
 */
const { cleanup, sim } = pveSimSuite();
const root = cleanup.dir(tempDir("pve-att-root"));
const n = (args: string[]) => nexcage(root, args, { config: sim.config, env: sim.env });
const runDir = join(sim.simRoot, "run/nexcage-ct");

function bundleOf(args: string[], caps?: string[]): string {
  const b = cleanup.dir(makeBundle(args, (s) => caps && (s["process"].capabilities = { bounding: caps, effective: caps, permitted: caps })));
  chmodSync(b, 0o755);
  return b;
}

/** A bundle whose capabilities let an exec change its user (containerd's default set has them). */
const SETID_CAPS = ["CAP_SETUID", "CAP_SETGID", "CAP_KILL"];

/**
 * `create --pid-file` of a new id with stdout and stderr going to files of ours (the proxy keeps
 * them): the proxy (pid and start time), the VMID and the two files.
 */
async function createAttached(name: string, command: string[], caps?: string[]) {
  const id = cleanup.nexcage(root, name);
  const dir = cleanup.dir(tempDir(name));
  const bundle = bundleOf(command, caps);
  const out = join(dir, "out");
  const err = join(dir, "err");
  const pidFile = join(dir, "init.pid");
  const fds = [openSync(out, "w"), openSync(err, "w")];
  const args = [join(REPO, "dist", "nexcage.mjs"), "--root", root, "--config", sim.config, "create", "--bundle", bundle, "--pid-file", pidFile, id];
  const p = spawn(process.execPath, args, { stdio: ["ignore", fds[0]!, fds[1]!], env: { ...process.env, ...sim.env } });
  for (const fd of fds) closeSync(fd);
  const code = await new Promise<number | null>((r) => p.once("exit", (c) => r(c)));
  expect(code, textOr(err)).toBe(0);
  const pid = Number(readFileSync(pidFile, "utf8"));
  return { id, vmid: sim.vmidOf(root, id), proxy: { pid, start: readProcStat(pid)!.startTime }, out, err };
}

/** The CT's directory on the node: its VMID and a digest of the container's directory. */
const nodeDir = (id: string, vmid: number) => join(runDir, attachDirName(vmid, join(realpathSync(root), id)));

const stateOf = async (id: string) => JSON.parse((await n(["state", id])).stdout) as { status: string; pid: number };

/** Nothing of the container left: record, CT, template archive, node directory, proxy. */
function leftovers(id: string, vmid: number, proxy: { pid: number; start: string }): string[] {
  return [
    ...(existsSync(join(root, id)) ? [`record ${id}`] : []),
    ...sim.cts().filter((v) => v === vmid).map((v) => `CT ${v}`),
    ...sim.templates().filter((t) => t.includes(`-${id}-`)),
    ...(existsSync(nodeDir(id, vmid)) ? [`dir ${nodeDir(id, vmid)}`] : []),
    ...(isSameLiveProcess(proxy.pid, proxy.start) ? [`proxy ${proxy.pid}`] : []),
  ];
}

describe("proxmox-lxc attached (--pid-file) without containerd", () => {
  it("the pid file names the proxy; the CT's process writes into create's own stdout and stderr; the proxy ends with it", async () => {
    const { id, vmid, proxy, ...c } = await createAttached("att-io", ["sh", "-c", "echo out; echo err >&2; exit 7"]);
    expect(readFileSync(`/proc/${proxy.pid}/cmdline`, "utf8").split("\0")).toContain("proxy");
    expect(readdirSync(nodeDir(id, vmid)).sort()).toEqual(["init", "sock"]);
    expect(await stateOf(id)).toMatchObject({ status: "created", pid: 0 });
    expect((await n(["start", id])).code).toBe(0);
    expect(await waitFor(async () => !isSameLiveProcess(proxy.pid, proxy.start), 20_000)).toBe(true);
    expect(readFileSync(c.out, "utf8")).toBe("out\n");
    expect(readFileSync(c.err, "utf8")).toBe("err\n");
    expect((await stateOf(id)).status).toBe("stopped");
    expect((await n(["delete", id])).code).toBe(0);
    expect(leftovers(id, vmid, proxy)).toEqual([]);
  });

  it("the proxy SIGKILLed before start: stopped, start refused, delete --force leaves nothing", async () => {
    const { id, vmid, proxy } = await createAttached("att-k1", ["sleep", "1000"]);
    process.kill(proxy.pid, "SIGKILL");
    expect(await waitFor(async () => (await stateOf(id)).status === "stopped")).toBe(true);
    expect(nexcageMessage((await n(["start", id])).stderr)).toMatch(/stopped/);
    expect((await n(["delete", "--force", id])).code).toBe(0);
    expect(leftovers(id, vmid, proxy)).toEqual([]);
  });

  it("the proxy SIGKILLed while the CT runs: stopped (the caller has seen an exit), kill refused, delete --force removes the running CT and the rest", async () => {
    const { id, vmid, proxy } = await createAttached("att-k2", ["sleep", "1000"]);
    expect((await n(["start", id])).code).toBe(0);
    const running = await stateOf(id);
    expect(running.status).toBe("running");
    expect(readFileSync(`/proc/${running.pid}/cmdline`, "utf8")).toBe("sleep\u00001000\u0000");
    process.kill(proxy.pid, "SIGKILL");
    expect(await waitFor(async () => (await stateOf(id)).status === "stopped")).toBe(true);
    expect(nexcageMessage((await n(["kill", id, "KILL"])).stderr)).toMatch(/stopped|not running/);
    expect((await sim.pct(["status", String(vmid)])).stdout).toBe("status: running");
    expect((await n(["delete", "--force", id])).code).toBe(0);
    expect(leftovers(id, vmid, proxy)).toEqual([]);
    expect(readProcStat(running.pid)?.state ?? "gone").toMatch(/gone|Z/);
  });

  it("update -r (containerd's LinuxResources) sets memory and CPU of the running CT live through pct set", async () => {
    const { id, vmid } = await createAttached("att-upd", ["sleep", "1000"]);
    expect((await n(["start", id])).code).toBe(0);
    const file = join(cleanup.dir(tempDir("att-upd-r")), "resources.json");
    writeFileSync(file, JSON.stringify({ memory: { limit: 128 * 1024 * 1024, swap: 192 * 1024 * 1024 }, cpu: { shares: 256, quota: 50000, period: 100000 } }));
    const u = await n(["update", "-r", file, id]);
    expect(u, u.stderr).toMatchObject({ code: 0 });
    const conf = (await sim.pct(["config", String(vmid)])).stdout;
    expect(conf).toMatch(/^memory: 128$/m);
    expect(conf).toMatch(/^swap: 64$/m);
    expect(conf).toMatch(/^cpulimit: 0\.5$/m);
    expect(conf).toMatch(/^cpuunits: 256$/m);
    // applied to the running CT, not pending
    const limit = ["/sys/fs/cgroup/memory/lxc", "/sys/fs/cgroup/lxc"].map((d) => join(d, String(vmid))).find((d) => existsSync(d));
    expect(limit, "the CT's memory cgroup").toBeDefined();
    if (existsSync(join(limit!, "memory.limit_in_bytes"))) expect(readFileSync(join(limit!, "memory.limit_in_bytes"), "utf8").trim()).toBe(String(128 * 1024 * 1024));
    else expect(readFileSync(join(limit!, "memory.max"), "utf8").trim()).toBe(String(128 * 1024 * 1024));
    const refused = await n(["update", "--pids-limit", "10", id]);
    expect(nexcageMessage(refused.stderr)).toBe("proxmox-lxc cannot honour update --pids-limit");
    expect((await n(["delete", "--force", id])).code).toBe(0);
  });

  it("exec with --user, --cwd and -e: the helper runs it as that user, there, with exactly that environment; its exit code", async () => {
    const { id } = await createAttached("att-exec", ["sleep", "1000"], SETID_CAPS);
    expect((await n(["start", id])).code).toBe(0);
    const r = await n(["exec", "--user", "1000:1000", "--cwd", "/tmp", "-e", "PATH=/bin", "-e", "GREETING=hello world", id, "sh", "-c", 'echo "$(id -u):$(id -g) $(pwd) $GREETING ${PVE_SIM_ROOT-no-host-env}"; exit 4']);
    expect(r, r.stderr).toMatchObject({ code: 4, stdout: "1000:1000 /tmp hello world no-host-env\n" });
    const plain = await n(["exec", id, "sh", "-c", "echo $(id -u) $(pwd)"]);
    expect(plain).toMatchObject({ code: 0, stdout: "0 /\n" });
    expect((await n(["delete", "--force", id])).code).toBe(0);
  });

  it("kill of a created CT, as runc's of its waiting init: SIGTERM has no effect, SIGKILL ends the proxy (the caller sees the exit)", async () => {
    const { id, vmid, proxy } = await createAttached("att-kc", ["sleep", "1000"]);
    expect((await n(["kill", id, "TERM"])).code).toBe(0);
    expect(isSameLiveProcess(proxy.pid, proxy.start)).toBe(true);
    expect((await stateOf(id)).status).toBe("created");
    expect((await n(["kill", id, "KILL"])).code).toBe(0);
    expect(await waitFor(async () => !isSameLiveProcess(proxy.pid, proxy.start))).toBe(true);
    expect((await stateOf(id)).status).toBe("stopped");
    expect((await n(["delete", id])).code).toBe(0);
    expect(leftovers(id, vmid, proxy)).toEqual([]);
  });
});
