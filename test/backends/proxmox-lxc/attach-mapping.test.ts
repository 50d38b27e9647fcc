import { describe, expect, it } from "vitest";
import {
  attachDirName,
  attachedStatus,
  attachMountLines,
  caughtSignals,
  hostOwner,
  initArgs,
  isNamespaceInit,
  proxyArgs,
  ptyExecArgs,
  reachesInit,
  type AttachedFacts,
} from "../../../src/backends/proxmox-lxc/attach/mapping.js";
import { execProcess, pctExec, type ExecProcess } from "../../../src/backends/proxmox-lxc/attach/exec.js";
import { planContainer } from "../../../src/backends/proxmox-lxc/plan.js";
import { proxmoxLxcSettingsSchema } from "../../../src/backends/proxmox-lxc/settings.js";

describe("attached proxmox-lxc: stdio and init", () => {
  it("the CT's init is the helper, which runs process.args with the socket's stdio", () => {
    expect(initArgs(["sh", "-c", "echo hi"])).toEqual(["/dev/.nexcage/init", "init", "/dev/.nexcage/sock", "sh", "-c", "echo hi"]);
  });

  it("the node directory is named by the VMID and a digest of the container's directory: a reused VMID gets another one", () => {
    const a = attachDirName(105, "/run/nexcage/default/web");
    expect(a).toMatch(/^105-[0-9a-f]{16}$/);
    expect(attachDirName(105, "/run/nexcage/default/web")).toBe(a);
    expect(attachDirName(105, "/run/nexcage/other/web")).not.toBe(a);
    expect(attachDirName(106, "/run/nexcage/default/web").slice(4)).toBe(a.slice(4));
  });

  it("the node directory goes to /dev/.nexcage, the helper on top of itself read-only", () => {
    expect(attachMountLines("/run/nexcage-ct/105")).toEqual([
      "lxc.mount.entry: /run/nexcage-ct/105 dev/.nexcage none bind,create=dir 0 0",
      "lxc.mount.entry: /run/nexcage-ct/105/init dev/.nexcage/init none bind,ro,create=file 0 0",
    ]);
  });

  it.each([
    ["pipes (no console socket)", undefined, ["proxy", "/r/105/sock"]],
    ["a terminal (console socket)", "/tmp/pty1/pty.sock", ["proxy", "/r/105/sock", "/tmp/pty1/pty.sock"]],
  ])("proxy argv with %s", (_what, consoleSocket, argv) => {
    expect(proxyArgs("/r/105/sock", consoleSocket)).toEqual(argv);
  });

  it("exec -t: the helper makes the pty and becomes pct", () => {
    expect(ptyExecArgs("/tmp/pty2/pty.sock", "/usr/sbin/pct", ["exec", "105", "--", "sh"])).toEqual(["pty", "/tmp/pty2/pty.sock", "/usr/sbin/pct", "exec", "105", "--", "sh"]);
  });

  it.each([
    [0, 0, true, { uid: 100000, gid: 100000 }],
    [1000, 100, true, { uid: 101000, gid: 100100 }],
    [65535, 65535, true, { uid: 165535, gid: 165535 }],
    [1000, 100, false, { uid: 1000, gid: 100 }],
  ])("process user %i:%i (unprivileged %s) owns the socket as host %o", (uid, gid, unpriv, host) => {
    expect(hostOwner(uid, gid, unpriv)).toEqual(host);
  });

  it("a uid beyond Proxmox's map of unprivileged CTs is refused", () => {
    expect(() => hostOwner(65536, 0, true)).toThrow(/outside the 65536 ids/);
  });

  it("the plan puts the helper before process.args in --entrypoint only when attached, and allows a terminal only with a console socket", () => {
    const settings = proxmoxLxcSettingsSchema.parse({});
    const spec = (terminal: boolean) => ({ ociVersion: "1.0.2", process: { terminal, args: ["sleep", "1000"], cwd: "/" }, root: { path: "rootfs" } });
    const plan = (attached: boolean, consoleSocket: boolean, terminal = false) =>
      planContainer({ id: "c1", bundlePath: "/b", spec: spec(terminal), settings, isDirectory: () => true, consoleSocket, attached });
    const entry = (p: { createOptions: readonly string[] }) => p.createOptions[p.createOptions.indexOf("--entrypoint") + 1];
    expect(entry(plan(false, false))).toBe("sleep 1000");
    expect(entry(plan(true, false))).toBe("/dev/.nexcage/init init /dev/.nexcage/sock sleep 1000");
    expect(entry(plan(true, true, true))).toBe("/dev/.nexcage/init init /dev/.nexcage/sock sleep 1000");
    expect(() => plan(false, true, true)).toThrow(/cannot honour --console-socket/);
    expect(() => plan(true, false, true)).toThrow(/process\.terminal without --console-socket/);
  });
});

describe("attached proxmox-lxc: status", () => {
  const base: AttachedFacts = { recorded: "running", proxyAlive: true, ctRunning: true, processAlive: true, startedBefore: true };
  it.each<[string, Partial<AttachedFacts>, string]>([
    ["running: proxy, CT and process live", {}, "running"],
    ["paused stays paused while it lives", { recorded: "paused" }, "paused"],
    ["the proxy has exited (containerd saw the exit), CT still up", { proxyAlive: false }, "stopped"],
    ["the proxy was killed before the start", { recorded: "created", ctRunning: false, startedBefore: false, proxyAlive: false }, "stopped"],
    ["the process exited, the CT is going down", { processAlive: false }, "stopped"],
    ["the CT was stopped (pct stop)", { ctRunning: false, processAlive: false }, "stopped"],
    ["created, not started", { recorded: "created", ctRunning: false, processAlive: false, startedBefore: false }, "created"],
    ["created, a start crashed before recording the process", { recorded: "created", processAlive: false }, "running"],
    ["created, a crashed start's CT has already stopped", { recorded: "created", ctRunning: false, processAlive: false }, "stopped"],
    ["creating (its creator died after the proxy started)", { recorded: "creating", ctRunning: false, processAlive: false, startedBefore: false }, "creating"],
  ])("%s → %s", (_what, over, status) => {
    expect(attachedStatus({ ...base, ...over })).toBe(status);
  });
});

describe("attached proxmox-lxc: signals reach the process as they reach a namespace's pid 1", () => {
  const statusText = (cgt: string) => `Name:\tsleep\nSigIgn:\t0000000000000000\nSigCgt:\t${cgt}\nNSpid:\t4242\t2\n`;
  it("reads SigCgt and NSpid from /proc/<pid>/status", () => {
    expect(caughtSignals(statusText("0000000000004002"))).toBe(0x4002n);
    expect(caughtSignals("Name:\tx\n")).toBeUndefined();
    expect(isNamespaceInit(statusText("0"))).toBe(false);
    expect(isNamespaceInit("NSpid:\t4241\t1\n")).toBe(true);
    expect(isNamespaceInit("NSpid:\t1\n")).toBe(true);
    expect(isNamespaceInit("Name:\tx\n")).toBe(false);
  });

  const TERM = 1n << 14n; // bit 15-1
  it.each([
    [9, 0n, true, "SIGKILL always"],
    [19, 0n, true, "SIGSTOP always"],
    [15, 0n, false, "SIGTERM without a handler: dropped (sleep as pid 1 ignores it)"],
    [15, TERM, true, "SIGTERM with a handler"],
    [1, TERM, false, "SIGHUP, only SIGTERM caught"],
    [1, 1n, true, "SIGHUP caught (bit 0)"],
    [64, 1n << 63n, true, "SIGRTMAX caught"],
  ])("signal %i, caught mask %s → %s (%s)", (sig, mask, reaches) => {
    expect(reachesInit(sig, mask)).toBe(reaches);
  });
});

describe("attached proxmox-lxc: the process of an exec", () => {
  const cli = (over: Partial<{ args: string[]; tty: boolean; env: string[]; cwd: string; user: string; additionalGids: string[] }> = {}) => ({
    args: ["sh"],
    tty: false,
    env: [],
    additionalGids: [],
    ...over,
  });
  const as = { env: ["PATH=/bin", "A=b c"], uid: 1000, gid: 100, groups: [10, 20], cwd: "/srv" };

  it.each<[string, string | undefined, ReturnType<typeof cli>, ExecProcess]>([
    ["the command line", undefined, cli({ args: ["ls", "-l"] }), { args: ["ls", "-l"], terminal: false }],
    ["-t on the command line", undefined, cli({ tty: true }), { args: ["sh"], terminal: true }],
    ["-e, --cwd, --user, -g on the command line", undefined, cli({ env: as.env, cwd: "/srv", user: "1000:100", additionalGids: ["10", "20"] }), { args: ["sh"], terminal: false, as }],
    ["a --process file (containerd)", JSON.stringify({ args: ["echo", "hi"], env: as.env, cwd: "/srv", user: { uid: 1000, gid: 100, additionalGids: [10, 20] } }), cli({ args: [] }), { args: ["echo", "hi"], terminal: false, as }],
    ["a --process file with a terminal and defaults", JSON.stringify({ terminal: true, args: ["sh"] }), cli({ args: [] }), { args: ["sh"], terminal: true, as: { env: [], uid: 0, gid: 0, groups: [], cwd: "/" } }],
  ])("%s", (_what, json, req, proc) => {
    expect(execProcess(req, json)).toEqual(proc);
  });

  it.each([
    ["not JSON", "{", /--process: not JSON/],
    ["no args", JSON.stringify({ cwd: "/" }), /args must be a non-empty array/],
    ["args not strings", JSON.stringify({ args: [1] }), /args must be a non-empty array/],
    ["env not KEY=VALUE", JSON.stringify({ args: ["sh"], env: ["X"] }), /env must be KEY=VALUE/],
    ["a user name", JSON.stringify({ args: ["sh"], user: { uid: "root" } }), /user\.uid, gid and additionalGids must be numbers/],
    ["a relative cwd", JSON.stringify({ args: ["sh"], cwd: "tmp" }), /cwd must be an absolute path/],
  ])("refuses a --process file that is %s", (_what, json, message) => {
    expect(() => execProcess(cli({ args: [] }), json)).toThrow(message);
  });

  it("pct exec: plain (the CT's root, /, the CT's environment), or through the helper with the process's own", () => {
    expect(pctExec(105, { args: ["ls"], terminal: false }, false)).toEqual({ args: ["exec", "105", "--keep-env", "0", "--", "ls"], env: {} });
    expect(pctExec(105, { args: ["ls", "-l"], terminal: false, as }, true)).toEqual({
      args: ["exec", "105", "--keep-env", "1", "--", "/dev/.nexcage/init", "exec", "1000", "100", "10,20", "/srv", "ls", "-l"],
      env: { NEXCAGE_EXEC_ENV_0: "PATH=/bin", NEXCAGE_EXEC_ENV_1: "A=b c" },
    });
    expect(() => pctExec(105, { args: ["ls"], terminal: false, as }, false)).toThrow(/only in a CT created with --pid-file/);
  });
});
