import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerdHarness, type RuntimeChoice } from "./containerd-harness.js";
import { Cleanup, makeBundle, rootEntries, tempDir, VARIANTS, waitFor } from "./helpers.js";
import { pveSim } from "./pve-sim.js";

/**
 * nexcage as the "runc" of containerd's io.containerd.runc.v2 shim, driven by ctr against a private
 * containerd (e2e/containerd-harness.ts). The same cases run first against runc itself, so every
 * expectation here is runc's behaviour under the same shim, then against each nexcage variant.
 * Cases within a target share the container c1 and run in order.
 */

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

interface Target {
  name: string;
  runtime: RuntimeChoice;
  /**
   * proxmox-lxc on the pct stand-in (test/sim, real LXC): the pid the shim reaps is nexcage's proxy,
   * standing for the CT's process (docs/backends/proxmox-lxc.md, "containerd").
   */
  pve?: ReturnType<typeof pveSim>;
}

const pve = pveSim(cleanup);
const BUN = join(import.meta.dirname, "..", "node_modules", "@oven", "bun-linux-x64-baseline", "bin", "bun");

const TARGETS: Target[] = [
  { name: "runc itself (reference)", runtime: { binary: "/usr/sbin/runc" } },
  ...VARIANTS.map((v) => ({ name: `nexcage, ${v.name}`, runtime: { nexcage: { config: v.config, node: v.node } } })),
  {
    name: "nexcage, proxmox-lxc (pct stand-in)",
    runtime: { nexcage: { config: pve.settings(), env: pve.env } },
    pve,
  },
  // the shipped single binary runs on Bun: its child processes start through Bun.spawn
  {
    name: "nexcage on Bun, proxmox-lxc (pct stand-in)",
    runtime: { nexcage: { config: pve.settings(), env: pve.env, node: BUN } },
    pve,
  },
];

/** The command line of a live process, NUL-separated fields joined with spaces. */
const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
};

const CASE_TIMEOUT = 300_000;

/** containerd's getLastRuntimeError: the msg of the last "level":"error" line of the --log file. */
function lastLoggedError(log: string): string | undefined {
  let msg: string | undefined;
  for (const line of log.split("\n").filter(Boolean)) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === "error" && typeof entry.msg === "string") msg = entry.msg;
    } catch {
      /* not JSON: containerd skips it too */
    }
  }
  return msg;
}

const procState = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0];
  } catch {
    return undefined;
  }
};
const gone = (pid: number) => [undefined, "Z", "X"].includes(procState(pid));

describe.each(TARGETS)("containerd + runc shim → $name", (target) => {
  let h: ContainerdHarness;

  beforeAll(async () => {
    if (target.pve) expect(await target.pve.init()).toBe(0);
    h = await ContainerdHarness.start({ runtime: target.runtime });
  }, 120_000);
  afterAll(async () => {
    try {
      await h?.stop();
    } finally {
      await target.pve?.destroyAll();
    }
  }, 300_000);

  const status = async (id: string) => (await h.tasks()).get(id)?.status;
  const stateOf = async (id: string) => {
    const r = await h.runtime(["state", id]);
    expect(r.code, `state ${id}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as { id: string; pid: number; status: string; bundle: string };
  };

  it(
    "ctr run -d: the task is RUNNING with the pid of the runtime's state and the shim's init.pid",
    async () => {
      const r = await h.run("c1", ["sleep", "1000"], ["-d"]);
      expect(r, r.stderr).toMatchObject({ code: 0 });
      const task = (await h.tasks()).get("c1");
      expect(task?.status).toBe("RUNNING");
      const state = await stateOf("c1");
      expect(state).toMatchObject({ id: "c1", status: "running", bundle: h.bundle("c1") });
      expect(readFileSync(join(h.bundle("c1"), "init.pid"), "utf8")).toBe(String(task?.pid));
      expect(procState(state.pid)).toMatch(/^[RS]$/);
      if (target.pve) {
        // the shim reaps the proxy; the state's pid is the CT's process, a real process in the CT
        expect(cmdline(task!.pid)).toMatch(/nexcage-ct-init proxy /);
        expect(cmdline(state.pid)).toBe("sleep 1000");
        const vmid = target.pve.vmidOf(h.runtimeRoot, "c1");
        expect((await target.pve.pct(["status", String(vmid)])).stdout).toBe("status: running");
        expect(readFileSync(`/proc/${state.pid}/uid_map`, "utf8")).toMatch(/^\s*0\s+100000\s+65536$/m); // unprivileged
      } else {
        expect(task?.pid).toBe(state.pid);
      }
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr run (attached): the output reaches ctr; --rm removes container and runtime state",
    async () => {
      const r = await h.run("c2", ["echo", "hello"], ["--rm"]);
      expect(r).toEqual({ code: 0, stdout: "hello\n", stderr: "" });
      expect((await h.ctr(["container", "ls", "-q"])).stdout.split("\n")).not.toContain("c2");
      expect(existsSync(join(h.runtimeRoot, "c2"))).toBe(false);
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr run --rm exits with the process's exit code",
    async () => {
      const r = await h.run("c5", ["sh", "-c", "echo rm-output; exit 3"], ["--rm"]);
      expect(r).toEqual({ code: 3, stdout: "rm-output\n", stderr: "" });
      expect(existsSync(join(h.runtimeRoot, "c5"))).toBe(false);
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr run --rm -t: the process gets a terminal (console socket), exit code passed through",
    async () => {
      const r = await h.run("c6", ["sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; exit 5"], ["--rm", "-t"], { tty: true });
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(5);
      expect(r.stdout).toContain("on-a-tty");
      expect(existsSync(join(h.runtimeRoot, "c6"))).toBe(false);
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr task exec: output and exit code of the exec'd process",
    async () => {
      const r = await h.exec("c1", "e1", ["sh", "-c", "echo hi; exit 4"]);
      expect(r).toEqual({ code: 4, stdout: "hi\n", stderr: "" });
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr task exec -t: the exec'd process gets a terminal",
    async () => {
      const r = await h.exec("c1", "e2", ["sh", "-c", "test -t 0 && test -t 1 && echo exec-tty; exit 6"], ["-t"], { tty: true });
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(6);
      expect(r.stdout).toContain("exec-tty");
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr task ps lists the init pid",
    async () => {
      const { pid } = await stateOf("c1");
      const r = await h.ctr(["task", "ps", "c1"]);
      expect(r, r.stderr).toMatchObject({ code: 0 });
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^PID\s+INFO$/);
      expect(lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([pid]);
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr task pause → PAUSED, resume → RUNNING",
    async () => {
      const p = await h.ctr(["task", "pause", "c1"]);
      expect(p, p.stderr).toMatchObject({ code: 0 });
      expect(await status("c1")).toBe("PAUSED");
      expect((await stateOf("c1")).status).toBe("paused");
      const r = await h.ctr(["task", "resume", "c1"]);
      expect(r, r.stderr).toMatchObject({ code: 0 });
      expect(await status("c1")).toBe("RUNNING");
      expect((await stateOf("c1")).status).toBe("running");
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr task kill sends SIGTERM (sleep as pid 1 ignores it); kill -s SIGKILL stops the task",
    async () => {
      const { pid } = await stateOf("c1");
      const t = await h.ctr(["task", "kill", "c1"]);
      expect(t, t.stderr).toMatchObject({ code: 0 });
      await new Promise((r) => setTimeout(r, 1000));
      expect(await status("c1")).toBe("RUNNING");
      expect(gone(pid)).toBe(false);
      const k = await h.ctr(["task", "kill", "-s", "SIGKILL", "c1"]);
      expect(k, k.stderr).toMatchObject({ code: 0 });
      expect(await waitFor(async () => (await status("c1")) === "STOPPED", 20_000)).toBe(true);
      expect(gone(pid)).toBe(true);
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr task delete removes the stopped task and the runtime's state; then the container goes",
    async () => {
      const d = await h.ctr(["task", "delete", "c1"]);
      expect(d, d.stderr).toMatchObject({ code: 0 });
      expect((await h.tasks()).has("c1")).toBe(false);
      expect(existsSync(join(h.runtimeRoot, "c1"))).toBe(false);
      expect((await h.runtime(["state", "c1"])).code).not.toBe(0);
      const c = await h.ctr(["container", "delete", "c1"]);
      expect(c, c.stderr).toMatchObject({ code: 0 });
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr task kill --all -s SIGKILL kills init and exec'd processes",
    async () => {
      expect(await h.run("c3", ["sleep", "1000"], ["-d"])).toMatchObject({ code: 0 });
      const bg = await h.exec("c3", "bg", ["sleep", "500"], ["-d"]);
      expect(bg, bg.stderr).toMatchObject({ code: 0 });
      const ps = await h.ctr(["task", "ps", "c3"]);
      expect(ps, ps.stderr).toMatchObject({ code: 0 });
      const pids = ps.stdout.trim().split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
      expect(pids).toHaveLength(2);
      const k = await h.ctr(["task", "kill", "--all", "-s", "SIGKILL", "c3"]);
      expect(k, k.stderr).toMatchObject({ code: 0 });
      expect(await waitFor(async () => (await status("c3")) === "STOPPED", 20_000)).toBe(true);
      expect(await waitFor(async () => pids.every(gone), 10_000)).toBe(true);
      expect(await h.ctr(["task", "delete", "c3"])).toMatchObject({ code: 0 });
      expect(await h.ctr(["container", "delete", "c3"])).toMatchObject({ code: 0 });
      expect(existsSync(join(h.runtimeRoot, "c3"))).toBe(false);
    },
    CASE_TIMEOUT,
  );

  it(
    "ctr task delete --force of a running task kills and deletes it",
    async () => {
      expect(await h.run("c4", ["sleep", "1000"], ["-d"])).toMatchObject({ code: 0 });
      const { pid } = await stateOf("c4");
      const d = await h.ctr(["task", "delete", "--force", "c4"]);
      expect(d, d.stderr).toMatchObject({ code: 0 });
      expect((await h.tasks()).has("c4")).toBe(false);
      expect(await waitFor(async () => gone(pid), 10_000)).toBe(true);
      expect(existsSync(join(h.runtimeRoot, "c4"))).toBe(false);
      expect(await h.ctr(["container", "delete", "c4"])).toMatchObject({ code: 0 });
    },
    CASE_TIMEOUT,
  );

  it(
    "a failing create: ctr exits non-zero with the runtime's --log message; nothing is left",
    async () => {
      // The message the runtime logs for this failure, from a direct create with --log (same id,
      // same process): containerd must show exactly that.
      const bundle = cleanup.dir(makeBundle(["/nonexistent"]));
      const root = cleanup.dir(tempDir("ctrd-direct"));
      const log = join(root, "log.json");
      const direct = await h.runtime(["--log", log, "--log-format", "json", "create", "--bundle", bundle, "c7"], root);
      await h.runtime(["delete", "--force", "c7"], root);
      expect(direct.code).not.toBe(0);
      const msg = lastLoggedError(readFileSync(log, "utf8"));
      expect(msg).toMatch(/nonexistent/);

      const r = await h.run("c7", ["/nonexistent"], ["--rm"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toBe(`ctr: failed to create shim task: OCI runtime create failed: ${msg}: unknown\n`);
      expect((await h.tasks()).has("c7")).toBe(false);
      expect(existsSync(join(h.runtimeRoot, "c7"))).toBe(false);
      await h.ctr(["container", "delete", "c7"]);
    },
    CASE_TIMEOUT,
  );

  it(
    "death by SIGKILL: ctr run exits 137",
    async () => {
      const run = h.run("c8", ["sleep", "1000"], ["--rm"]);
      expect(await waitFor(async () => (await status("c8")) === "RUNNING", 60_000)).toBe(true);
      const k = await h.ctr(["task", "kill", "-s", "SIGKILL", "c8"]);
      expect(k, k.stderr).toMatchObject({ code: 0 });
      expect(await run).toEqual({ code: 137, stdout: "", stderr: "" });
      expect(existsSync(join(h.runtimeRoot, "c8"))).toBe(false);
    },
    CASE_TIMEOUT,
  );

  // only a Proxmox target has a CT to stop: the case is not registered for the others (no skips)
  if (target.pve !== undefined) it(
    "a CT stopped behind containerd's back (pct stop) is seen as exited",
    async () => {
      expect(await h.run("c9", ["sleep", "1000"], ["-d"])).toMatchObject({ code: 0 });
      const vmid = target.pve!.vmidOf(h.runtimeRoot, "c9");
      const stop = await target.pve!.pct(["stop", String(vmid)]);
      expect(stop.exitCode, stop.stderr).toBe(0);
      expect(await waitFor(async () => (await status("c9")) === "STOPPED", 20_000)).toBe(true);
      expect((await stateOf("c9")).status).toBe("stopped");
      expect(await h.ctr(["task", "delete", "c9"])).toMatchObject({ code: 0 });
      expect(await h.ctr(["container", "delete", "c9"])).toMatchObject({ code: 0 });
      expect(existsSync(join(h.runtimeRoot, "c9"))).toBe(false);
    },
    CASE_TIMEOUT,
  );

  it(
    "afterwards no task, no container and nothing in the runtime's root is left",
    async () => {
      expect((await h.ctr(["task", "ls", "-q"])).stdout).toBe("");
      expect((await h.ctr(["container", "ls", "-q"])).stdout).toBe("");
      expect(rootEntries(h.runtimeRoot)).toEqual([]);
      if (target.pve) {
        // no CT, no template archive, no per-CT directory, no proxy
        expect(target.pve.cts()).toEqual([]);
        expect(target.pve.templates().filter((t) => t.startsWith("nexcage-"))).toEqual([]);
        const runDir = join(target.pve.simRoot, "run/nexcage-ct");
        expect(existsSync(runDir) ? readdirSync(runDir) : []).toEqual([]);
        const proxies = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && cmdline(Number(p)).includes(runDir));
        expect(proxies).toEqual([]);
      }
    },
    CASE_TIMEOUT,
  );
});
