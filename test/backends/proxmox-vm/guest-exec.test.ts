import { describe, expect, it } from "vitest";
import type { ExecRequest } from "../../../src/backends/contract.js";
import { execProcess, execRefusals, execResult, guestArgv, parseExecPid, parseExecStatus, parsePids, qmGuestExecArgs } from "../../../src/backends/proxmox-vm/guest-exec.js";

const req = (over: Partial<ExecRequest> = {}): ExecRequest => ({ args: ["/bin/echo", "hi"], detach: false, tty: false, env: [], additionalGids: [], noNewPrivs: false, caps: [], preserveFds: 0, ignorePaused: false, ...over });
const container = { args: ["/bin/app"], env: ["PATH=/bin", "A=1"], cwd: "/srv", user: { uid: 1000, gid: 1000, additionalGids: [10] } };

describe("proxmox-vm exec: request → guest process → qm guest exec argv", () => {
  it.each([
    ["the container's env, cwd and user; exec's args", req(), { args: ["/bin/echo", "hi"], env: ["PATH=/bin", "A=1"], cwd: "/srv", user: { uid: 1000, gid: 1000, additionalGids: [10] }, noNewPrivileges: false }],
    ["--env appends, --cwd and --user override", req({ env: ["B=2"], cwd: "/tmp", user: "0:5", additionalGids: ["7"] }), { args: ["/bin/echo", "hi"], env: ["PATH=/bin", "A=1", "B=2"], cwd: "/tmp", user: { uid: 0, gid: 5, additionalGids: [7] }, noNewPrivileges: false }],
    ["--user uid alone: gid = uid", req({ user: "33" }), { args: ["/bin/echo", "hi"], env: ["PATH=/bin", "A=1"], cwd: "/srv", user: { uid: 33, gid: 33, additionalGids: [] }, noNewPrivileges: false }],
  ])("%s", (_n, r, expected) => {
    expect(execProcess(container, r)).toEqual(expected);
  });

  it("--process replaces the container's process", () => {
    expect(execProcess(container, req({ args: [] }), { args: ["/bin/sh", "-c", "x"], env: ["X=1"], cwd: "/" })).toEqual({ args: ["/bin/sh", "-c", "x"], env: ["X=1"], cwd: "/", user: undefined, noNewPrivileges: false });
  });

  it("env sets environment and directory, setpriv the user, groups and no_new_privs", () => {
    expect(guestArgv({ args: ["ls", "-l"], env: ["A=1"], cwd: "/srv", noNewPrivileges: false })).toEqual(["/usr/bin/env", "-i", "-C", "/srv", "--", "A=1", "ls", "-l"]);
    expect(guestArgv({ args: ["id"], env: [], cwd: "/", user: { uid: 1000, gid: 100, additionalGids: [] }, noNewPrivileges: true })).toEqual(["/usr/bin/setpriv", "--reuid=1000", "--regid=100", "--clear-groups", "--no-new-privs", "--", "/usr/bin/env", "-i", "-C", "/", "--", "id"]);
    expect(guestArgv({ args: ["id"], env: [], cwd: "/", user: { uid: 1, gid: 2, additionalGids: [3, 4] }, noNewPrivileges: false })[3]).toBe("--groups=3,4");
    expect(qmGuestExecArgs(101, ["/bin/true"])).toEqual(["guest", "exec", "101", "--synchronous", "0", "--", "/bin/true"]);
  });

  it.each([
    ["a bad --user", req({ user: "root" }), /exec --user "root": the proxmox-vm backend takes uid\[:gid\]/],
    ["a bad --additional-gids", req({ additionalGids: ["wheel"] }), /is not a number/],
    ["no command", req({ args: [] }), /exec needs a command/],
  ])("refused: %s", (_n, r, message) => {
    expect(() => execProcess(container, r)).toThrow(message);
  });

  it("what the agent cannot carry is listed", () => {
    expect(execRefusals(req({ tty: true, preserveFds: 2, caps: ["CAP_X"] }))).toEqual(["--tty (the guest agent has no terminal)", "--preserve-fds (host descriptors do not reach a VM)", "--cap"]);
    expect(execRefusals(req())).toEqual([]);
  });
});

describe("proxmox-vm exec: qm guest exec output", () => {
  it("the pid, the status, the exit code", () => {
    expect(parseExecPid('{\n   "pid" : 1234\n}\n')).toBe(1234);
    expect(() => parseExecPid("nope")).toThrow("exec failed: qm printed no JSON object");
    const s = parseExecStatus('{\n   "err-data" : "e\\n",\n   "exitcode" : 4,\n   "exited" : 1,\n   "out-data" : "o\\n"\n}\n');
    expect(s).toEqual({ exited: true, exitcode: 4, signal: undefined, out: "o\n", err: "e\n" });
    expect(execResult(s)).toBe(4);
    expect(parseExecStatus('{"exited":0}')).toMatchObject({ exited: false });
    expect(execResult({ exited: true, signal: 9, out: "", err: "" })).toBe(137);
    expect(execResult({ exited: true, exitcode: 127, out: "", err: "sh: 1: x: not found\n" })).toBe(127); // the command itself said so
    expect(() => execResult({ exited: true, exitcode: 127, out: "", err: "/usr/bin/env: 'nosuch': No such file or directory\n" })).toThrow("exec failed: executable file `nosuch` not found in the guest: No such file or directory");
    expect(() => execResult({ exited: true, exitcode: 127, out: "", err: "/usr/bin/env: ‘/no/such’: No such file or directory\n" })).toThrow("executable file `/no/such` not found");
    expect(parsePids("412\n418\n")).toEqual([412, 418]);
    expect(parsePids("")).toEqual([]);
  });
});
