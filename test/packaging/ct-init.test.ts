import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * nexcage-ct-init (packaging/ct-init, built by scripts/setup-host.sh) on this host, without a CT:
 * its proxy hands its stdio to its init over the socket, the init runs the command as its child and
 * reports the wait status, and the proxy exits with the shell's exit code for it.
 */
const HELPER = join(import.meta.dirname, "..", "..", "build", "ct-init", "nexcage-ct-init");
const dir = mkdtempSync(join(tmpdir(), "nexcage-ct-init-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const exited = (p: ReturnType<typeof spawn>) => new Promise<number | null>((r) => p.once("exit", (code) => r(code)));

/** proxy + init for one command; stdout and stderr of the proxy go to files the command writes through. */
async function through(n: number, command: string[], killInit?: NodeJS.Signals, namespaces: string[] = [], initUser: string[] = []) {
  const socket = join(dir, `s${n}`);
  const out = join(dir, `out${n}`);
  const err = join(dir, `err${n}`);
  const fds = [openSync(out, "w"), openSync(err, "w")];
  const proxy = spawn(HELPER, ["proxy", ...namespaces, socket], { stdio: ["ignore", fds[0]!, fds[1]!] });
  for (const fd of fds) closeSync(fd);
  const proxyExit = exited(proxy);
  while (!existsSync(socket)) await new Promise((r) => setTimeout(r, 5));
  const init = spawn(HELPER, ["init", ...initUser, socket, ...command], { stdio: "ignore" });
  const initExit = exited(init);
  if (killInit) {
    // once the command runs as its child (the init's handlers are set by then)
    const children = `/proc/${init.pid}/task/${init.pid}/children`;
    while (existsSync(children) && readFileSync(children, "utf8").trim() === "") await new Promise((r) => setTimeout(r, 5));
    init.kill(killInit);
  }
  const [proxyCode, initCode] = await Promise.all([proxyExit, initExit]);
  return { proxyCode, initCode, out: readFileSync(out, "utf8"), err: readFileSync(err, "utf8") };
}

describe("nexcage-ct-init", () => {
  it("is built", () => {
    expect(existsSync(HELPER), `${HELPER}: run packaging/ct-init/build.sh`).toBe(true);
  });

  it.each<{ what: string; command: string[]; killInit?: NodeJS.Signals; code: number }>([
    { what: "exit 0", command: ["sh", "-c", "exit 0"], code: 0 },
    { what: "exit 3", command: ["sh", "-c", "exit 3"], code: 3 },
    { what: "exit 255", command: ["sh", "-c", "exit 255"], code: 255 },
    { what: "killed by SIGKILL", command: ["sh", "-c", "kill -KILL $$"], code: 137 },
    { what: "killed by SIGTERM", command: ["sh", "-c", "kill -TERM $$"], code: 143 },
    { what: "not found", command: ["/nonexistent"], code: 127 },
    { what: "SIGTERM to the init is forwarded to the child", command: ["sleep", "100"], killInit: "SIGTERM", code: 143 },
    { what: "the init SIGKILLed before it can report (pct stop)", command: ["sleep", "100"], killInit: "SIGKILL", code: 137 },
  ])("$what → the proxy exits $code", async ({ command, killInit, code }) => {
    const r = await through(Math.floor(Math.random() * 1e9), command, killInit);
    expect(r.proxyCode).toBe(code);
    if (killInit !== "SIGKILL") expect(r.initCode).toBe(code);
  });

  it("the command writes to the proxy's stdout and stderr themselves", async () => {
    const r = await through(1, ["sh", "-c", "echo out; echo err >&2; test -t 0 || echo no-tty"]);
    expect(r).toMatchObject({ proxyCode: 0, out: "out\nno-tty\n", err: "err\n" });
  });

  it("exec: only the NEXCAGE_EXEC_ENV_<n> environment, the given cwd, then the command in its place", async () => {
    const out = join(dir, "exec-out");
    const fd = openSync(out, "w");
    const env = { PATH: "/usr/bin:/bin", SECRET: "host", NEXCAGE_EXEC_ENV_0: "PATH=/usr/bin:/bin", NEXCAGE_EXEC_ENV_1: "GREETING=hello world" };
    const p = spawn(HELPER, ["exec", "0", "0", "", "/tmp", "sh", "-c", "echo \"$GREETING|${SECRET-unset}|$(pwd)\"; exit 9"], { stdio: ["ignore", fd, "inherit"], env });
    closeSync(fd);
    expect(await exited(p)).toBe(9);
    expect(readFileSync(out, "utf8")).toBe("hello world|unset|/tmp\n");
  });

  it("proxy -n net=PATH: the init joins that network namespace before it forks the command", async () => {
    const netns = `nexcage-ct-init-${process.pid}`;
    expect(spawnSync("ip", ["netns", "add", netns]).status).toBe(0);
    try {
      const path = `/var/run/netns/${netns}`;
      const r = await through(2, ["readlink", "/proc/self/ns/net"], undefined, ["-n", `net=${path}`, "-n", "uts=/proc/self/ns/uts"]);
      expect(r).toMatchObject({ proxyCode: 0, out: `net:[${statSync(path).ino}]\n` });
    } finally {
      spawnSync("ip", ["netns", "delete", netns]);
    }
  });

  it.each([
    [["-u", "1000", "1001", "-"], "1000 1001 1001\n"],
    [["-u", "1000", "1001", "5,6"], "1000 1001 1001 5 6\n"], // id -G: the primary group first
  ])("init %j: the child runs as that user (the init stays root)", async (initUser, ids) => {
    const r = await through(3 + initUser.length + initUser[3]!.length, ["sh", "-c", 'echo "$(id -u) $(id -g) $(id -G)"'], undefined, [], initUser);
    expect(r).toMatchObject({ proxyCode: 0, out: ids });
  });

  it.each([
    ["a missing namespace path", ["-n", "net=/nonexistent"], "nexcage-ct-init: /nonexistent: No such file or directory\n"],
    ["a namespace type it cannot join", ["-n", "pid=/proc/self/ns/pid"], "nexcage-ct-init: pid=/proc/self/ns/pid: Invalid argument\n"],
  ])("proxy with %s fails at once (255, the reason on stderr)", async (_what, args, message) => {
    const err = join(dir, `err-ns-${args[1]!.length}`);
    const fd = openSync(err, "w");
    const p = spawn(HELPER, ["proxy", ...args, join(dir, "never")], { stdio: ["ignore", "ignore", fd] });
    closeSync(fd);
    expect(await exited(p)).toBe(255);
    expect(readFileSync(err, "utf8")).toBe(message);
    expect(existsSync(join(dir, "never"))).toBe(false);
  });

  it("usage for anything else", async () => {
    const p = spawn(HELPER, ["what"], { stdio: "ignore" });
    expect(await exited(p)).toBe(2);
  });
});
