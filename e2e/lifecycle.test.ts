import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readProcStat } from "../src/proc/stat.js";
import { cgroupsNamed } from "./crash-harness.js";
import { Cleanup, configFile, makeBundle, NEXCAGE, nexcage, nexcageFor, tempDir, VARIANTS, waitFor, rootEntries } from "./helpers.js";

const cleanup = new Cleanup();
// crun and runc name cgroups after the id: ids of their own, so that two test runs on one machine do not meet
const RUN = process.pid.toString(36);
afterAll(() => cleanup.run());

describe.each(VARIANTS)("lifecycle through $name", (variant) => {
  const backend = variant.backend;
  const root = cleanup.dir(tempDir(`root-${backend}-${RUN}`));
  const n = nexcageFor(variant, root);

  it("create → state → start → state → kill → state → delete", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `life-${backend}-${RUN}`);
    const pidFile = join(bundle, "init.pid");

    const created = await n(["create", "--bundle", bundle, "--pid-file", pidFile, id]);
    expect(created).toMatchObject({ code: 0, stdout: "" });

    const pidText = readFileSync(pidFile, "utf8");
    expect(pidText).toMatch(/^[0-9]+$/); // decimal, no newline, as runc writes it
    const pid = Number(pidText);

    const s1 = JSON.parse((await n(["state", id])).stdout);
    expect(s1).toMatchObject({ ociVersion: "1.0.2", id, pid, status: "created", bundle, rootfs: join(bundle, "rootfs") });
    // the init is a real process on this host, not a child of nexcage (which has exited)
    expect(readProcStat(pid)).toBeDefined();

    expect(await n(["start", id])).toMatchObject({ code: 0 });
    expect(JSON.parse((await n(["state", id])).stdout)).toMatchObject({ status: "running", pid });

    const record = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8"));
    expect(record.nexcage).toMatchObject({ backend, routeReason: "defaultBackend", pidStartTime: readProcStat(pid)!.startTime });

    expect(await n(["kill", id, "KILL"])).toMatchObject({ code: 0 });
    expect(await waitFor(async () => JSON.parse((await n(["state", id])).stdout).status === "stopped")).toBe(true);
    expect(JSON.parse((await n(["state", id])).stdout).pid).toBe(0);

    expect(await n(["delete", id])).toMatchObject({ code: 0 });
    expect(existsSync(join(root, id))).toBe(false);
    const gone = await n(["state", id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe("nexcage: container does not exist");
  });

  it("the container's stdio are the descriptors given to create (as containerd's shim passes its pipes)", async () => {
    const bundle = cleanup.dir(makeBundle(["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 0"]));
    const id = cleanup.nexcage(root, `stdio-${backend}-${RUN}`);
    const out = join(cleanup.dir(tempDir("stdio")), "out");
    const err = `${out}.err`;
    const fds = [openSync(out, "w"), openSync(err, "w")];
    const config = configFile(variant.config);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(variant.node ?? process.execPath, [NEXCAGE, "--root", root, "--config", config, "create", "-b", bundle, id], {
        stdio: ["ignore", fds[0]!, fds[1]!],
        env: { ...process.env, NODE_EXTRA_CA_CERTS: undefined, NEXCAGE_CRUN_DRIVER: undefined },
      });
      child.on("exit", resolve);
    });
    for (const fd of fds) closeSync(fd);
    expect(code).toBe(0);
    expect((await n(["start", id])).code).toBe(0);
    expect(await waitFor(async () => JSON.parse((await n(["state", id])).stdout).status === "stopped")).toBe(true);
    expect(readFileSync(out, "utf8")).toBe("to-stdout\n");
    expect(readFileSync(err, "utf8")).toBe("to-stderr\n");
    expect((await n(["delete", id])).code).toBe(0);
  });

  it("kill takes numbers (as containerd sends them), names and --signal; --all reaches every process", async () => {
    const bundle = cleanup.dir(makeBundle(["sh", "-c", "trap 'echo got-usr1 > /tmp/usr1' USR1; sleep 1000 & wait; sleep 1000 & wait"]));
    const id = cleanup.nexcage(root, `sig-${backend}-${RUN}`);
    expect((await n(["run", "--detach", "--bundle", bundle, id])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect((await n(["kill", "--signal", "usr1", id])).code).toBe(0);
    expect(await waitFor(async () => existsSync(join(bundle, "rootfs", "tmp", "usr1")))).toBe(true);
    expect(readFileSync(join(bundle, "rootfs", "tmp", "usr1"), "utf8")).toBe("got-usr1\n");
    expect((await n(["kill", "--all", id, "9"])).code).toBe(0);
    expect(await waitFor(async () => JSON.parse((await n(["state", id])).stdout).status === "stopped")).toBe(true);
    expect((await n(["delete", id])).code).toBe(0);
  });

  it("exec (command line and --process file, detached), ps, pause/resume and update", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `exec-${backend}-${RUN}`);
    expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    const init = JSON.parse((await n(["state", id])).stdout).pid as number;

    const e = await n(["exec", id, "sh", "-c", "echo out-$0; echo err >&2; exit 4", "x"]);
    expect(e).toMatchObject({ code: 4, stdout: "out-x\n", stderr: "err\n" });

    const proc = join(cleanup.dir(tempDir("proc")), "process.json");
    writeFileSync(proc, JSON.stringify({ args: ["sleep", "500"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } }));
    const pidFile = join(bundle, "exec.pid");
    expect(await n(["exec", "--process", proc, "--detach", "--pid-file", pidFile, id])).toMatchObject({ code: 0, stdout: "" });
    const execPid = Number(readFileSync(pidFile, "utf8"));
    expect(readProcStat(execPid)).toBeDefined();

    expect(JSON.parse((await n(["ps", "--format", "json", id])).stdout).sort()).toEqual([init, execPid].sort());
    const table = (await n(["ps", id])).stdout.trim().split("\n");
    expect(table[0]).toMatch(/PID/);
    expect(table.slice(1).map((l) => Number(l.trim().split(/\s+/)[1])).sort()).toEqual([init, execPid].sort());

    expect((await n(["pause", id])).code).toBe(0);
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("paused");
    expect(readProcStat(init)?.state).toMatch(/^[DST]$/);
    const inPaused = await n(["exec", id, "true"]);
    expect(inPaused.code).toBe(255);
    expect(inPaused.stderr.trim()).toBe("nexcage: cannot exec in a paused container");
    expect((await n(["pause", id])).stderr.trim()).toBe("nexcage: container not running");
    expect((await n(["resume", id])).code).toBe(0);
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("running");
    expect((await n(["resume", id])).stderr.trim()).toBe("nexcage: container not paused");

    expect((await n(["update", "--pids-limit", "123", id])).code).toBe(0);
    const bad = await n(["update", "--pids-limit", "lots", id]);
    expect(bad).toMatchObject({ code: 1, stderr: 'nexcage: invalid value for --pids-limit: "lots"\n' });

    expect((await n(["delete", "--force", id])).code).toBe(0);
    expect(await waitFor(async () => readProcStat(execPid) === undefined || readProcStat(execPid)!.state === "Z")).toBe(true);
    const stopped = await n(["exec", id, "true"]);
    expect(stopped.code).toBe(1);
  });

  it("run waits, passes the output through and exits with the process's exit code; nothing is left", async () => {
    const bundle = cleanup.dir(makeBundle(["sh", "-c", "echo hello-from-$0; exit 7", backend]));
    const id = cleanup.nexcage(root, `run-${backend}-${RUN}`);
    const r = await n(["run", "--bundle", bundle, id]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe(`hello-from-${backend}\n`);
    expect(existsSync(join(root, id))).toBe(false);
    expect((await n(["state", id])).code).toBe(1);
  });

  it("run --detach leaves a running container", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `detach-${backend}-${RUN}`);
    expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("running");
    expect((await n(["delete", "--force", id])).code).toBe(0);
    expect(existsSync(join(root, id))).toBe(false);
  });

  it("list shows table, json and -q", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const listRoot = cleanup.dir(tempDir("list"));
    const ids = [cleanup.nexcage(listRoot, `la-${backend}-${RUN}`), cleanup.nexcage(listRoot, `lb-${backend}-${RUN}`)];
    const l = nexcageFor(variant, listRoot);
    expect((await l(["list", "--format", "json"])).stdout.trim()).toBe("[]");
    for (const id of ids) expect((await l(["create", "-b", bundle, id])).code).toBe(0);
    expect((await l(["start", ids[0]!])).code).toBe(0);
    const table = (await l(["list"])).stdout.trim().split("\n");
    expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\s+BACKEND$/);
    expect(table[1]).toMatch(new RegExp(`^${ids[0]}\\s+[0-9]+\\s+running\\s+${bundle}\\s+\\S+\\s+root\\s+${backend}$`));
    expect(table[2]).toMatch(new RegExp(`^${ids[1]}\\s+[0-9]+\\s+created\\s+`));
    const json = JSON.parse((await l(["list", "--format=json"])).stdout);
    expect(json.map((s: { id: string; status: string; backend: string }) => [s.id, s.status, s.backend])).toEqual([
      [ids[0], "running", backend],
      [ids[1], "created", backend],
    ]);
    expect((await l(["list", "-q"])).stdout).toBe(`${ids[0]}\n${ids[1]}\n`);
    for (const id of ids) expect((await l(["delete", "--force", id])).code).toBe(0);
    expect(rootEntries(listRoot)).toEqual([]);
  });

  it("stop sends SIGTERM, then SIGKILL after the timeout", async () => {
    // sleep as pid 1 ignores SIGTERM: stop must fall back to SIGKILL
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `stop-${backend}-${RUN}`);
    expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    const t0 = Date.now();
    expect(await n(["stop", "--timeout", "1", id])).toMatchObject({ code: 0 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("stopped");
    // a process that handles SIGTERM stops without waiting for the timeout
    const polite = cleanup.dir(makeBundle(["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]));
    const id2 = cleanup.nexcage(root, `stop2-${backend}-${RUN}`);
    expect((await n(["run", "-d", "-b", polite, id2])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await n(["stop", "--timeout", "30", id2])).toMatchObject({ code: 0 });
    expect(JSON.parse((await n(["state", id2])).stdout).status).toBe("stopped");
    for (const i of [id, id2]) expect((await n(["delete", i])).code).toBe(0);
  });
});

/**
 * nexcage with the runtime behind a wrapper that notes each call's arguments: `n` runs nexcage on
 * `root` with it, `verbs` lists the runtime calls so far (what follows the global flags).
 */
function wrappedRuntime(backend: "crun" | "runc", root: string) {
  const dir = cleanup.dir(tempDir(`wrap-${backend}`));
  const calls = join(dir, "calls");
  const wrapper = join(dir, backend);
  const real = backend === "crun" ? "/usr/bin/crun" : "/usr/sbin/runc";
  writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${calls}\nexec ${real} "$@"\n`, { mode: 0o755 });
  const config = configFile({ defaultBackend: backend, backends: { [backend]: { path: wrapper, ...(backend === "crun" ? { driver: "cli" } : {}) } } });
  return {
    dir,
    n: (args: string[]) => nexcage(root, args, { config }),
    verbs: () => (existsSync(calls) ? readFileSync(calls, "utf8") : "").trim().split("\n").filter(Boolean).map((l) => l.split(" ").slice(6).join(" ")),
  };
}

describe("kill signals a crun or runc container's init itself", () => {
  const root = cleanup.dir(tempDir(`root-direct-kill-${RUN}`));

  it.each(["crun", "runc"] as const)("%s: the signal reaches the init without the runtime; --all and a paused container go through it", async (backend) => {
    const { n, verbs } = wrappedRuntime(backend, root);
    const bundle = cleanup.dir(makeBundle(["sh", "-c", "trap 'echo got-usr1 > /tmp/usr1' USR1; sleep 1000 & wait; sleep 1000 & wait"]));
    const id = cleanup.nexcage(root, `direct-${backend}-${RUN}`);
    expect((await n(["run", "--detach", "--bundle", bundle, id])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const before = verbs().length;
    const k = await n(["kill", id, "USR1"]);
    expect(k.code, k.stderr).toBe(0);
    expect(await waitFor(async () => existsSync(join(bundle, "rootfs", "tmp", "usr1")))).toBe(true);
    expect(verbs().slice(before)).toEqual([]);
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("running");
    // paused: through the runtime (runc thaws a paused container for SIGKILL)
    expect((await n(["pause", id])).code).toBe(0);
    expect((await n(["kill", id, "CONT"])).code).toBe(0);
    expect(verbs().at(-1)).toBe(`kill ${id} 18`);
    expect((await n(["resume", id])).code).toBe(0);
    expect((await n(["kill", "--all", id, "KILL"])).code).toBe(0);
    expect(verbs().at(-1)).toBe(`kill --all ${id} 9`);
    expect(await waitFor(async () => JSON.parse((await n(["state", id])).stdout).status === "stopped")).toBe(true);
    // stopped: refused as before, and still without the runtime
    const late = verbs().length;
    const refused = await n(["kill", id, "KILL"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim()).toBe("nexcage: container not running");
    expect(verbs().length).toBe(late);
    expect((await n(["delete", id])).code).toBe(0);
  });
});

describe("start releases a created crun container's init through its exec fifo", () => {
  const root = cleanup.dir(tempDir(`root-fifo-start-${RUN}`));

  it("without crun when there are no poststart hooks; through crun, which runs them, when there are", async () => {
    const { dir, n, verbs } = wrappedRuntime("crun", root);

    const plain = cleanup.dir(makeBundle(["sh", "-c", "echo ran > /tmp/ran; sleep 1000"]));
    const id = cleanup.nexcage(root, `fifo-${RUN}`);
    expect((await n(["create", "--bundle", plain, id])).code).toBe(0);
    const fifo = join(root, id, "crun", id, "exec.fifo");
    expect(existsSync(fifo)).toBe(true);
    expect(existsSync(join(plain, "rootfs", "tmp", "ran"))).toBe(false);
    const before = verbs().length;
    const s = await n(["start", id]);
    expect(s.code, s.stderr).toBe(0);
    expect(verbs().slice(before)).toEqual([]);
    // the process ran, the fifo is gone as crun's start leaves it, and crun itself sees it running
    expect(await waitFor(async () => existsSync(join(plain, "rootfs", "tmp", "ran")))).toBe(true);
    expect(existsSync(fifo)).toBe(false);
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("running");
    const crunState = await new Promise<string>((resolve) => {
      const c = spawn("/usr/bin/crun", ["--root", join(root, id, "crun"), "state", id]);
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.on("close", () => resolve(out));
    });
    expect(JSON.parse(crunState).status).toBe("running");
    // started already: refused as before, still without crun
    const again = await n(["start", id]);
    expect(again.code).not.toBe(0);
    expect(verbs().length).toBe(before);

    const marker = join(dir, "poststart-ran");
    const hooked = cleanup.dir(makeBundle(["sleep", "1000"], (spec) => (spec["hooks"] = { poststart: [{ path: "/bin/sh", args: ["sh", "-c", `touch ${marker}`] }] })));
    const id2 = cleanup.nexcage(root, `fifo-hook-${RUN}`);
    expect((await n(["create", "--bundle", hooked, id2])).code).toBe(0);
    expect((await n(["start", id2])).code).toBe(0);
    expect(verbs().at(-1)).toBe(`start ${id2}`);
    expect(existsSync(marker)).toBe(true);
    for (const i of [id, id2]) expect((await n(["delete", "--force", i])).code).toBe(0);
  });
});

describe("delete of a stopped crun container removes its cgroup and state without crun", () => {
  const root = cleanup.dir(tempDir(`root-own-delete-${RUN}`));

  /** What a container can leave on the host: its cgroups, mounts naming it, its directory under the root; the id written as ID. */
  const traces = (id: string, bundle: string) => ({
    cgroups: cgroupsNamed(id).map((c) => c.replaceAll(id, "ID")).sort(),
    mounts: readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(id) || l.includes(bundle)).length,
    root: rootEntries(root).filter((e) => e.startsWith(id)).map((e) => e.replaceAll(id, "ID")),
  });

  it("leaves the host as crun's own delete does; poststop hooks go through crun", async () => {
    const { dir, n, verbs } = wrappedRuntime("crun", root);
    const stopped = async (id: string, bundle: string) => {
      expect((await n(["run", "--detach", "--bundle", bundle, id])).code).toBe(0);
      expect((await n(["kill", id, "KILL"])).code).toBe(0);
      expect(await waitFor(async () => JSON.parse((await n(["state", id])).stdout).status === "stopped")).toBe(true);
    };
    const bundle = cleanup.dir(makeBundle(["sh", "-c", "sleep 1000 & sleep 1000"]));
    const [mine, crunDeleted] = [cleanup.nexcage(root, `own-del-${RUN}`), cleanup.nexcage(root, `crun-del-${RUN}`)];
    const created = traces(mine, bundle);
    expect(created).toEqual({ cgroups: [], mounts: 0, root: [] });
    for (const id of [mine, crunDeleted]) await stopped(id, bundle);
    // something to remove: the cgroups of each hierarchy and the directory
    expect(traces(mine, bundle).cgroups.length).toBeGreaterThan(0);
    expect(traces(mine, bundle)).toEqual(traces(crunDeleted, bundle));

    const before = verbs().length;
    const d = await n(["delete", mine]);
    expect(d.code, d.stderr).toBe(0);
    expect(verbs().slice(before)).toEqual([]);
    // the other through crun's own delete, then nexcage's for its record
    const c = spawn("/usr/bin/crun", ["--root", join(root, crunDeleted, "crun"), "delete", crunDeleted]);
    expect(await new Promise((resolve) => c.on("close", resolve))).toBe(0);
    expect((await n(["delete", crunDeleted])).code).toBe(0);
    expect(traces(mine, bundle)).toEqual(created);
    expect(traces(crunDeleted, bundle)).toEqual(created);

    const marker = join(dir, "poststop-ran");
    const hooked = cleanup.dir(makeBundle(["sleep", "1000"], (spec) => (spec["hooks"] = { poststop: [{ path: "/bin/sh", args: ["sh", "-c", `touch ${marker}`] }] })));
    const id3 = cleanup.nexcage(root, `hook-del-${RUN}`);
    await stopped(id3, hooked);
    expect((await n(["delete", id3])).code).toBe(0);
    expect(verbs().at(-1)).toBe(`delete --force ${id3}`);
    expect(existsSync(marker)).toBe(true);
    expect(traces(id3, hooked)).toEqual(created);
  });
});

describe("routing", () => {
  const root = cleanup.dir(tempDir("route"));

  it("rules by id glob and by annotation pick the backend; --debug says why; the annotation wins", async () => {
    const config = configFile({ defaultBackend: "crun", routing: [{ name: "legacy", id: "rc-*", backend: "runc" }] });
    const plain = cleanup.dir(makeBundle(["sleep", "1000"]));
    const pinned = cleanup.dir(makeBundle(["sleep", "1000"], (s) => (s["annotations"] = { "org.nexcage.backend": "crun" })));
    const a = cleanup.nexcage(root, "rc-1");
    const b = cleanup.nexcage(root, "other-1");
    const c = cleanup.nexcage(root, "rc-pinned");
    const ra = await nexcage(root, ["--debug", "create", "-b", plain, a], { config });
    expect(ra.code).toBe(0);
    expect(ra.stderr).toMatch(/route: rc-1 -> runc \(routing rule legacy\)/);
    expect((await nexcage(root, ["create", "-b", plain, b], { config })).code).toBe(0);
    expect((await nexcage(root, ["create", "-b", pinned, c], { config })).code).toBe(0);
    const backends = Object.fromEntries(
      JSON.parse((await nexcage(root, ["list", "-f", "json"], { config })).stdout).map((s: { id: string; backend: string }) => [s.id, s.backend]),
    );
    expect(backends).toEqual({ "rc-1": "runc", "other-1": "crun", "rc-pinned": "crun" });
    expect(existsSync(join(root, "rc-1", "runc", "rc-1"))).toBe(true);
    expect(existsSync(join(root, "rc-pinned", "crun", "rc-pinned"))).toBe(true);
    // the recorded backend is used afterwards even with another config
    expect((await nexcage(root, ["delete", "--force", a])).code).toBe(0);
    for (const id of [b, c]) expect((await nexcage(root, ["delete", "--force", id], { config })).code).toBe(0);
    expect(rootEntries(root)).toEqual([]);
  });

  it("a backend that is not configured is refused before anything is created", async () => {
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const r = await nexcage(root, ["create", "-b", bundle, cleanup.nexcage(root, "vm-1")], { config: configFile({ defaultBackend: "proxmox-vm" }) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("nexcage: backends.proxmox-vm needs a template (VMID of a template VM to clone) or an image (disk image to import)");
    expect(existsSync(join(root, "vm-1"))).toBe(false);
  });
});
