import { spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { totalmem } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/exec/run.js";
import { isSameLiveProcess, readProcStat } from "../src/proc/stat.js";
import { configFile, makeBundle, NEXCAGE, nexcage, REPO, tempDir, waitFor } from "./helpers.js";
import { pveSimSuite, simLxcSettings, textOr } from "./pve-sim.js";

/**
 * A Kubernetes pod as containerd 1.6's CRI hands it to the runc shim, on the pct stand-in (real LXC):
 * the network namespace made first (as CNI would), the sandbox created with the CRI's annotations
 * and that namespace's path, its containers joining /proc/<sandbox pid>/ns/*; nexcage called as the
 * shim calls it (`--root <Root>/k8s.io create --bundle B --pid-file P ID`) under a subreaper that
 * reaps what create leaves behind and records the exit codes, as the shim does
 * (e2e/fixtures/shim-reaper.c). The routing is the docs' rule on --root, with crun the default.
 */
const { cleanup, sim } = pveSimSuite();
const base = cleanup.dir(tempDir("pods"));
const root = join(base, "nexcage-pct", "k8s.io");
const config = configFile({
  defaultBackend: "crun",
  routing: [{ name: "pods-as-cts", root: `${base}/nexcage-pct*`, backend: "proxmox-lxc" }],
  backends: { crun: { driver: "cli" }, "proxmox-lxc": simLxcSettings(sim.simRoot, sim.base) },
});
const n = (args: string[]) => nexcage(root, args, { config, env: sim.env });
const REAPER = join(base, "shim-reaper");
const NETNS = `nexcage-pods-${process.pid}`;
/** The host end of the pod's veth (at most 15 characters). */
const VETH = `vpod${process.pid % 100_000}`;
const POD_IP = `10.253.${process.pid % 250}.2`;

beforeAll(async () => {
  const cc = await run("gcc", ["-Wall", "-Werror", "-o", REAPER, join(REPO, "e2e", "fixtures", "shim-reaper.c")]);
  expect(cc.exitCode, cc.stderr).toBe(0);
  // the pod's network namespace, as containerd has CNI make it before the sandbox's create
  for (const argv of [
    ["netns", "add", NETNS],
    ["-n", NETNS, "link", "set", "lo", "up"],
    ["link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NETNS],
    ["-n", NETNS, "addr", "add", `${POD_IP}/24`, "dev", "eth0"],
    ["-n", NETNS, "link", "set", "eth0", "up"],
  ]) {
    const r = await run("ip", argv);
    expect(r.exitCode, `ip ${argv.join(" ")}: ${r.stderr}`).toBe(0);
  }
});
afterAll(async () => {
  await run("ip", ["link", "delete", VETH]);
  await run("ip", ["netns", "delete", NETNS]);
});

const netnsPath = `/var/run/netns/${NETNS}`;

interface ShimCall {
  /** The pid in the pid file (what the shim reaps: the proxy, or crun's init). */
  pid: number;
  start: string;
  out: string;
  err: string;
  /** The exit code the reaper saw for `pid`, once it has. */
  exit: () => number | undefined;
}

/** `create --bundle B --pid-file P id` as the shim runs it, under the reaper; stdout and stderr go to files (the shim's fifos). */
async function shimCreate(id: string, bundle: string): Promise<ShimCall> {
  cleanup.nexcage(root, id);
  const dir = cleanup.dir(tempDir(`pod-${id}`));
  const [out, err, log, pidFile] = ["out", "err", "reaped", "pid"].map((f) => join(dir, f)) as [string, string, string, string];
  const fds = [openSync(out, "w"), openSync(err, "w")];
  const args = [log, process.execPath, NEXCAGE, "--root", root, "--config", config, "create", "--bundle", bundle, "--pid-file", pidFile, id];
  const p = spawn(REAPER, args, { stdio: ["ignore", fds[0]!, fds[1]!], env: { ...process.env, ...sim.env } });
  for (const fd of fds) closeSync(fd);
  const reaped = () => new Map(textOr(log).trim().split("\n").filter(Boolean).map((l) => l.split(" ").map(Number) as [number, number]));
  // the create's own exit is the first the reaper sees
  expect(await waitFor(async () => reaped().size > 0 || p.exitCode !== null, 120_000)).toBe(true);
  const created = [...reaped().values()][0];
  expect(created, textOr(err)).toBe(0);
  const pid = Number(readFileSync(pidFile, "utf8"));
  return { pid, start: readProcStat(pid)!.startTime, out, err, exit: () => reaped().get(pid) };
}

const stateOf = async (id: string) => JSON.parse((await n(["state", id])).stdout) as { status: string; pid: number };
const recordOf = (id: string) => JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")) as { nexcage: { backend: string; routeReason: string; ref: { vmid?: number } } };
const nsOf = (pid: number, ns: string) => readlinkSync(`/proc/${pid}/ns/${ns}`);

const SANDBOX = "pod-sb";
const SHM = cleanup.dir(tempDir("pod-shm"));

/** The sandbox's config.json as containerd's CRI writes it (pause → busybox sleep). */
function sandboxBundle(): string {
  const b = cleanup.dir(
    makeBundle(["sleep", "100000"], (s) => {
      s["hostname"] = "web-pod";
      s["process"].user = { uid: 65535, gid: 65535 }; // the pause image's user
      s["root"].readonly = true;
      s["annotations"] = {
        "io.kubernetes.cri.container-type": "sandbox",
        "io.kubernetes.cri.sandbox-id": SANDBOX,
        "io.kubernetes.cri.sandbox-name": "web-pod",
        "io.kubernetes.cri.sandbox-namespace": "shop",
      };
      s["linux"].namespaces = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network", path: netnsPath }];
      s["linux"].sysctl = { "net.ipv4.ip_unprivileged_port_start": "80", "kernel.shm_rmid_forced": "1" };
      s["mounts"].push({ destination: "/dev/shm", type: "bind", source: SHM, options: ["rbind", "rw"] });
    }),
  );
  chmodSync(b, 0o755);
  return b;
}

describe("a pod's sandbox as a Proxmox CT", () => {
  let sb: ShimCall;
  let vmid = 0;

  it("create (routed by --root) and start: the pause process is in the pod's network namespace, the CT's own IPC/UTS, privileged, no net0", async () => {
    mkdirSync(SHM, { recursive: true });
    writeFileSync(join(SHM, "from-host"), "shm\n");
    sb = await shimCreate(SANDBOX, sandboxBundle());
    const rec = recordOf(SANDBOX);
    expect(rec.nexcage).toMatchObject({ backend: "proxmox-lxc", routeReason: "routing rule pods-as-cts" });
    vmid = rec.nexcage.ref.vmid!;
    expect(readFileSync(`/proc/${sb.pid}/cmdline`, "utf8").split("\0")).toEqual(expect.arrayContaining(["proxy", "-n", `net=${netnsPath}`]));
    const conf = (await sim.pct(["config", String(vmid)])).stdout;
    expect(conf).not.toMatch(/^net0:/m);
    expect(conf).not.toMatch(/^unprivileged: 1$/m); // Proxmox writes the key only for unprivileged CTs
    expect(conf).toMatch(/^hostname: web-pod$/m);
    expect(conf).toMatch(new RegExp(`^memory: ${Math.floor(totalmem() / 1024 / 1024)}$`, "m")); // no pod-wide limit: the node's, not Proxmox's 512
    expect(conf).toMatch(/^tags: k8s;nexcage;ns-shop;pod-web-pod$/m);
    expect(conf).toMatch(/^description: nexcage OCI container pod-sb%0Apod%3A shop\/web-pod%0A/m);

    const started = await n(["start", SANDBOX]);
    expect(started.code, started.stderr + textOr(sb.err)).toBe(0);
    const st = await stateOf(SANDBOX);
    expect(st.status).toBe("running");
    expect(readFileSync(`/proc/${st.pid}/cmdline`, "utf8")).toBe("sleep\u0000100000\u0000");
    // as pause's user, while the helper that joined the namespaces stays root
    expect(readFileSync(`/proc/${st.pid}/status`, "utf8")).toMatch(/^Uid:\s+65535\s+65535\s+65535\s+65535$/m);
    expect(nsOf(st.pid, "net")).toBe(`net:[${statSync(netnsPath).ino}]`);
    expect(nsOf(st.pid, "uts")).not.toBe(nsOf(process.pid, "uts"));
    expect(nsOf(st.pid, "ipc")).not.toBe(nsOf(process.pid, "ipc"));
    // the sysctl went to the pod's network namespace, not the host's
    expect((await run("ip", ["netns", "exec", NETNS, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"])).stdout.trim()).toBe("80");
    expect(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim()).not.toBe("80");
    // the IPC one to the CT's own IPC namespace
    expect((await run("nsenter", [`--ipc=/proc/${st.pid}/ns/ipc`, "cat", "/proc/sys/kernel/shm_rmid_forced"])).stdout).toBe("1");
    expect(readFileSync("/proc/sys/kernel/shm_rmid_forced", "utf8").trim()).toBe("0");
  });

  it("pct exec lands in the pod: its hostname, its address, the pod's /dev/shm", async () => {
    const r = await sim.pct(["exec", String(vmid), "--", "sh", "-c", "hostname; cat /dev/shm/from-host"]);
    expect(r, r.stderr).toMatchObject({ exitCode: 0, stdout: "web-pod\nshm" });
    const fib = await sim.pct(["exec", String(vmid), "--", "cat", "/proc/net/fib_trie"]);
    expect(fib.stdout).toContain(POD_IP);
  });

  // ---- the pod's containers: crun containers of the host, in the CT's namespaces and cgroup

  /** A container's config.json as the CRI writes it: the sandbox's namespaces by its pid-file pid. */
  function memberBundle(args: string[], sandbox = SANDBOX, pid = sb.pid): string {
    const b = cleanup.dir(
      makeBundle(args, (s) => {
        s["annotations"] = { "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": sandbox, "io.kubernetes.cri.sandbox-name": "web-pod" };
        s["linux"].namespaces = [{ type: "pid" }, { type: "mount" }, ...["network", "ipc", "uts"].map((t) => ({ type: t, path: `/proc/${pid}/ns/${t === "network" ? "net" : t}` }))];
        s["linux"].cgroupsPath = `/kubepods/besteffort/pod-${process.pid}/${sandbox}`;
        delete s["hostname"]; // the CRI sets none in a joined UTS namespace (runc refuses one)
        s["mounts"].push({ destination: "/dev/shm", type: "bind", source: SHM, options: ["rbind", "rw"] });
      }),
    );
    mkdirSync(join(b, "rootfs", "www"), { recursive: true });
    writeFileSync(join(b, "rootfs", "www", "index.html"), "hello from the pod\n");
    return b;
  }

  let server: ShimCall;
  let pausePid = 0;

  it("a container that serves on the pod's localhost: crun's, in the CT's network, IPC and UTS namespaces and under its cgroup; its record names the pod", async () => {
    pausePid = (await stateOf(SANDBOX)).pid;
    server = await shimCreate("pod-web", memberBundle(["busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"]));
    const rec = recordOf("pod-web") as ReturnType<typeof recordOf> & { nexcage: { pod?: Record<string, unknown> } };
    expect(rec.nexcage).toMatchObject({ backend: "crun", routeReason: "pod sandbox pod-sb (routing rule pods-as-cts)", pod: { sandbox: SANDBOX, vmid, cgroup: `/lxc/${vmid}` } });
    expect((await n(["start", "pod-web"])).code).toBe(0);
    const st = await stateOf("pod-web");
    expect(st.status).toBe("running");
    for (const ns of ["net", "ipc", "uts"]) expect(nsOf(st.pid, ns), ns).toBe(nsOf(pausePid, ns));
    // its own pid namespace (CONTAINER mode), not the proxy's (the host's) in anything
    expect(nsOf(st.pid, "pid")).not.toBe(nsOf(pausePid, "pid"));
    expect(nsOf(st.pid, "net")).not.toBe(nsOf(sb.pid, "net"));
    expect(readFileSync(`/proc/${st.pid}/cgroup`, "utf8")).toMatch(new RegExp(`:memory:/lxc/${vmid}/pod-web$`, "m"));
    // exec is crun's, in the container's namespaces: the pod's hostname and address
    const ex = await n(["exec", "pod-web", "sh", "-c", "hostname; cat /proc/net/fib_trie"]);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout.split("\n")[0]).toBe("web-pod");
    expect(ex.stdout).toContain(POD_IP);
  });

  it("a second container reaches it over localhost, sees the pod's hostname and /dev/shm; its output and exit code reach the shim", async () => {
    const client = await shimCreate("pod-client", memberBundle(["sh", "-c", "busybox wget -q -O - http://127.0.0.1:8080/ && hostname && cat /dev/shm/from-host && echo m2 > /dev/shm/from-client"]));
    expect((await n(["start", "pod-client"])).code).toBe(0);
    expect(await waitFor(async () => client.exit() !== undefined, 30_000)).toBe(true);
    expect(client.exit(), textOr(client.err)).toBe(0);
    expect(textOr(client.out)).toBe("hello from the pod\nweb-pod\nshm\n");
    expect(readFileSync(join(SHM, "from-client"), "utf8")).toBe("m2\n");
    expect((await stateOf("pod-client")).status).toBe("stopped");
    expect((await n(["delete", "pod-client"])).code).toBe(0);
    expect(existsSync(join(root, "pod-client"))).toBe(false);
  });

  it("a container that exits 3: the shim sees 3; delete --force as the shim's cleanup", async () => {
    const c = await shimCreate("pod-exit3", memberBundle(["sh", "-c", "exit 3"]));
    expect((await n(["start", "pod-exit3"])).code).toBe(0);
    expect(await waitFor(async () => c.exit() !== undefined, 30_000)).toBe(true);
    expect(c.exit()).toBe(3);
    expect((await n(["delete", "--force", "pod-exit3"])).code).toBe(0);
    expect(existsSync(join(root, "pod-exit3"))).toBe(false);
  });

  it("shareProcessNamespace (the pid namespace by path too): the container is in the CT's pid namespace, whose pid 1 is the CT's init helper", async () => {
    const b = memberBundle(["sh", "-c", "cat /proc/1/cmdline"]);
    const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
    cfg.linux.namespaces = cfg.linux.namespaces.map((x: { type: string }) => (x.type === "pid" ? { type: "pid", path: `/proc/${sb.pid}/ns/pid` } : x));
    writeFileSync(join(b, "config.json"), JSON.stringify(cfg));
    const shared = await shimCreate("pod-pidns", b);
    expect((await n(["start", "pod-pidns"])).code).toBe(0);
    expect(await waitFor(async () => shared.exit() !== undefined, 30_000)).toBe(true);
    expect(shared.exit(), textOr(shared.err)).toBe(0);
    expect(textOr(shared.out).split("\0")[0]).toBe("/dev/.nexcage/init");
    expect((await n(["delete", "pod-pidns"])).code).toBe(0);
  });

  it("kill 9 and kill --all 9 of the server, then delete: 137 for the shim, its cgroup under the CT gone", async () => {
    expect((await n(["kill", "pod-web", "9"])).code).toBe(0);
    expect(await waitFor(async () => server.exit() !== undefined, 30_000)).toBe(true);
    expect(server.exit()).toBe(137);
    // containerd's shim sends kill --all after the process has gone; runc answers it without error
    await n(["kill", "--all", "pod-web", "9"]);
    expect((await n(["delete", "pod-web"])).code).toBe(0);
    // the shim's delete --force after its delete: nothing left to remove is no error
    expect((await n(["delete", "--force", "pod-web"])).code).toBe(0);
    expect(existsSync(`/sys/fs/cgroup/memory/lxc/${vmid}/pod-web`)).toBe(false);
  });

  it.each([
    ["a missing sandbox", "no-such-sb", /^pod sandbox no-such-sb of container pod-orphan does not exist$/],
  ])("a container of %s is refused with one line and leaves nothing", async (_name, sandbox, re) => {
    cleanup.nexcage(root, "pod-orphan");
    const r = await n(["create", "--bundle", memberBundle(["true"], sandbox), "pod-orphan"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n").at(-1)!.replace(/^nexcage: /, "")).toMatch(re);
    expect(existsSync(join(root, "pod-orphan"))).toBe(false);
  });

  it("the sandbox killed (9, then --all 9) and deleted while a container still runs, as runc allows: no CT, archive, record or proxy; the container runs on until its own delete --force", async () => {
    const late = await shimCreate("pod-late", memberBundle(["sleep", "100000"]));
    expect((await n(["start", "pod-late"])).code).toBe(0);
    const latePid = (await stateOf("pod-late")).pid;
    expect((await n(["kill", SANDBOX, "9"])).code).toBe(0);
    expect(await waitFor(async () => sb.exit() !== undefined, 30_000)).toBe(true);
    expect(sb.exit()).toBe(137);
    await n(["kill", "--all", SANDBOX, "9"]);
    expect((await stateOf(SANDBOX)).status).toBe("stopped");
    // a container for a sandbox that no longer runs is refused
    cleanup.nexcage(root, "pod-after");
    const refused = await n(["create", "--bundle", memberBundle(["true"]), "pod-after"]);
    expect(refused.stderr.trim().split("\n").at(-1)).toBe("nexcage: pod sandbox pod-sb is stopped: its containers need it running");
    expect(existsSync(join(root, "pod-after"))).toBe(false);

    const del = await n(["delete", SANDBOX]);
    expect(del.code, del.stderr).toBe(0);
    expect((await n(["delete", "--force", SANDBOX])).code).toBe(0);
    expect(existsSync(join(root, SANDBOX))).toBe(false);
    expect(sim.cts()).not.toContain(vmid);
    expect(sim.templates().filter((t) => t.includes(`-${SANDBOX}-`))).toEqual([]);
    expect(isSameLiveProcess(sb.pid, sb.start)).toBe(false);
    expect((await stateOf("pod-late")).status).toBe("running");
    expect(nsOf(latePid, "net")).toBe(`net:[${statSync(netnsPath).ino}]`);
    expect((await n(["delete", "--force", "pod-late"])).code).toBe(0);
    expect(await waitFor(async () => late.exit() !== undefined, 30_000)).toBe(true);
    expect(late.exit()).toBe(137);
    // the CT's cgroup, which LXC could not remove while pod-late ran in it, went with pod-late's delete
    expect(existsSync(`/sys/fs/cgroup/memory/lxc/${vmid}`)).toBe(false);
    // the pod's network namespace is containerd's: still there
    expect(existsSync(netnsPath)).toBe(true);
  });
});

describe("a hostNetwork pod's sandbox", () => {
  /** A kube-system sandbox of `sleep` with these namespaces (the host's for the types left out), created as the shim does. */
  async function createHostSandbox(id: string, name: string, namespaces: Array<{ type: string }>, hostname?: string) {
    const b = cleanup.dir(
      makeBundle(["sleep", "100000"], (s) => {
        s["annotations"] = { "io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": id, "io.kubernetes.cri.sandbox-name": name, "io.kubernetes.cri.sandbox-namespace": "kube-system" };
        s["linux"].namespaces = namespaces;
        if (hostname === undefined) delete s["hostname"];
        else s["hostname"] = hostname;
      }),
    );
    chmodSync(b, 0o755);
    return shimCreate(id, b);
  }

  it("no network and no uts entry: its process is in the host's network and UTS namespaces (the proxy's own), the CT's own IPC; kill 9, delete leaves nothing", async () => {
    const id = "pod-hostnet";
    const c = await createHostSandbox(id, "hostnet", [{ type: "pid" }, { type: "ipc" }, { type: "mount" }]);
    const vmid = recordOf(id).nexcage.ref.vmid!;
    expect((await sim.pct(["config", String(vmid)])).stdout).not.toMatch(/^net0:/m);
    const started = await n(["start", id]);
    expect(started.code, started.stderr + textOr(c.err)).toBe(0);
    const pid = (await stateOf(id)).pid;
    expect(nsOf(pid, "net")).toBe(nsOf(process.pid, "net"));
    expect(nsOf(pid, "uts")).toBe(nsOf(process.pid, "uts"));
    expect(nsOf(pid, "ipc")).not.toBe(nsOf(process.pid, "ipc"));
    expect((await n(["kill", id, "9"])).code).toBe(0);
    expect(await waitFor(async () => c.exit() !== undefined, 30_000)).toBe(true);
    expect(c.exit()).toBe(137);
    expect((await n(["delete", id])).code).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
    expect(sim.cts()).not.toContain(vmid);
    expect(isSameLiveProcess(c.pid, c.start)).toBe(false);
  });

  it("hostPID (no pid entry): accepted for a sandbox, whose process keeps the CT's own pid namespace (its containers are crun's, in the host's); kill 9, delete leaves nothing", async () => {
    const id = "pod-hostpid";
    const c = await createHostSandbox(id, "hostpid", [{ type: "ipc" }, { type: "uts" }, { type: "mount" }], "hostpid");
    const vmid = recordOf(id).nexcage.ref.vmid!;
    const started = await n(["start", id]);
    expect(started.code, started.stderr + textOr(c.err)).toBe(0);
    const pid = (await stateOf(id)).pid;
    expect(nsOf(pid, "pid")).not.toBe(nsOf(process.pid, "pid"));
    expect(nsOf(pid, "net")).toBe(nsOf(process.pid, "net")); // no network entry either: the host's
    expect((await n(["kill", id, "9"])).code).toBe(0);
    expect(await waitFor(async () => c.exit() !== undefined, 30_000)).toBe(true);
    expect(c.exit()).toBe(137);
    expect((await n(["delete", id])).code).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
    expect(sim.cts()).not.toContain(vmid);
  });
});
