import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, closeSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, openSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Cleanup, configFile, makeBundle, NEXCAGE, nexcage, nexcageMessage, rootEntries, tempDir, type Run } from "./helpers.js";
import { readProcStat } from "../src/proc/stat.js";

/**
 * What nexcage trusts and reads (issue 16): roots, record directories and the config cache that
 * someone else could have written are refused; a record never makes nexcage signal a host process;
 * files it is pointed at are read only as bounded regular files; one bad record does not break
 * `list`; a closed stdout ends the call as it ends runc's.
 */
const cleanup = new Cleanup();
afterAll(() => cleanup.run(), 120_000);
const tag = process.pid.toString(36);
const CLI_CONFIG = { defaultBackend: "crun", backends: { crun: { driver: "cli" } } };

/** nexcage as a command line: the built bundle under node, or NEXCAGE_E2E_BINARY. */
const CLI: [string, ...string[]] = process.env["NEXCAGE_E2E_BINARY"] ? [process.env["NEXCAGE_E2E_BINARY"]] : [process.execPath, NEXCAGE];

const mkfifoSync = (path: string) => expect(spawnSync("mkfifo", ["-m", "0600", path]).status).toBe(0);

const oneLine = (r: Run) => {
  expect(r.code, r.stdout).not.toBe(0);
  expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^nexcage: /);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  return nexcageMessage(r.stderr);
};

/** A host process that is nobody's container: what a forged record would point `kill` at. */
function victim(): { pid: number; startTime: string; alive: () => boolean } {
  const child = spawn("sleep", ["1000"], { stdio: "ignore", detached: true });
  child.unref();
  const pid = child.pid!;
  victims.push(pid);
  let stat = readProcStat(pid);
  for (let i = 0; !stat && i < 100; i++) stat = readProcStat(pid);
  return { pid, startTime: stat!.startTime, alive: () => readProcStat(pid)?.state !== undefined && readProcStat(pid)?.state !== "Z" };
}
const victims: number[] = [];
afterAll(() => {
  for (const pid of victims) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

/** The build id a cache entry must carry: an attacker reads it from any cache the binary wrote. */
async function buildId(config: string): Promise<string> {
  const root = tempDir(`trust-build-${tag}`);
  await nexcage(root, ["health"], { config });
  return (JSON.parse(readFileSync(join(root, "config@cache.json"), "utf8")) as { build: string }).build;
}

/** A record as nexcage writes it, for a crun container `id` whose init is `pid`. */
function plantRecord(root: string, id: string, pid: number, startTime: string, ref: Record<string, unknown> = { root: join(root, id, "crun") }): void {
  mkdirSync(join(root, id), { mode: 0o700 });
  writeFileSync(
    join(root, id, "state.json"),
    JSON.stringify({
      ociVersion: "1.0.2",
      id,
      status: "running",
      pid,
      bundle: "/nonexistent",
      rootfs: "/nonexistent/rootfs",
      created: new Date().toISOString(),
      owner: "root",
      nexcage: { backend: "crun", ref, routeReason: "defaultBackend", configSource: "built-in defaults", pidStartTime: startTime },
    }),
    { mode: 0o600 },
  );
}

describe("roots, record directories and the config cache someone else could write are refused", () => {
  it.each([
    ["mode 0777", (root: string) => chmodSync(root, 0o777), /^refusing root .*: it is writable by its group and others \(mode 0777\)$/],
    ["mode 0770", (root: string) => chmodSync(root, 0o770), /^refusing root .*: it is writable by its group \(mode 0770\)$/],
    ["owned by nobody", (root: string) => chownSync(root, 65534, 65534), /^refusing root .*: it is owned by uid 65534, not by root$/],
  ])("a root %s: every command fails in one line and runs nothing", async (_, spoil, message) => {
    const root = tempDir(`trust-root-${tag}`);
    spoil(root);
    const bundle = cleanup.dir(makeBundle(["sleep", "100"]));
    const config = configFile(CLI_CONFIG);
    for (const args of [["list"], ["state", "x"], ["create", "-b", bundle, `t-${tag}`], ["kill", "x", "KILL"], ["delete", "--force", "x"]]) {
      expect(oneLine(await nexcage(root, args, { config })), args.join(" ")).toMatch(message);
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it("a planted cache in a root owned by an unprivileged user is never executed", async () => {
    const root = tempDir(`trust-cache-${tag}`);
    chownSync(root, 65534, 65534);
    const marker = join(tempDir(`trust-marker-${tag}`), "ran");
    const evil = join(tempDir(`trust-evil-${tag}`), "crun");
    writeFileSync(evil, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const config = configFile(CLI_CONFIG);
    const text = readFileSync(config, "utf8");
    const planted = { build: await buildId(config), source: config, text, config: { ...CLI_CONFIG, routing: [], backends: { crun: { path: evil, driver: "cli", timeoutSeconds: 60 } } } };
    writeFileSync(join(root, "config@cache.json"), JSON.stringify(planted));
    chownSync(join(root, "config@cache.json"), 65534, 65534);
    const bundle = cleanup.dir(makeBundle(["sleep", "100"]));
    const r = await nexcage(root, ["create", "-b", bundle, `c-${tag}`], { config });
    expect(oneLine(r)).toMatch(/^refusing root /);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ["routing 5", { routing: 5 }],
    ["an unknown backend", { defaultBackend: "nope" }],
    ["a bad regex", { routing: [{ backend: "runc", idRegex: "(" }] }],
    ['lockTimeoutSeconds "abc"', { lockTimeoutSeconds: "abc" }],
    ["a relative runtime path", { backends: { crun: { path: "crun", driver: "cli", timeoutSeconds: 60 } } }],
  ])("a cache entry with %s planted in a trusted root (its stamp does not match) is a miss: the config file decides", async (_, bad) => {
    const root = tempDir(`trust-cachev-${tag}`);
    const config = configFile(CLI_CONFIG);
    const text = readFileSync(config, "utf8");
    writeFileSync(join(root, "config@cache.json"), JSON.stringify({ build: await buildId(config), source: config, text, config: { ...CLI_CONFIG, ...bad } }), { mode: 0o600 });
    // create routes (rules, backend) and takes the lock (lockTimeoutSeconds): it uses all of it
    const bundle = cleanup.dir(makeBundle(["sleep", "100"]));
    const id = cleanup.nexcage(root, `cv-${tag}`);
    const r = await nexcage(root, ["create", "-b", bundle, id], { config, timeoutMs: 30_000 });
    expect(r.stderr).not.toMatch(/internal error|killed after/);
    expect(r.code, r.stderr).toBe(0);
    expect((await nexcage(root, ["delete", "--force", id], { config })).code).toBe(0);
  });

  it("a group-writable cache file is refused", async () => {
    const root = tempDir(`trust-cachef-${tag}`);
    const config = configFile(CLI_CONFIG);
    writeFileSync(join(root, "config@cache.json"), "{}", { mode: 0o600 });
    chmodSync(join(root, "config@cache.json"), 0o664);
    expect(oneLine(await nexcage(root, ["health"], { config }))).toMatch(/^refusing config cache .*config@cache\.json: it is writable by its group \(mode 0664\)$/);
  });

  it("a record directory writable by others reads as untrusted: state refuses it, list warns and goes on, delete --force removes it", async () => {
    const root = tempDir(`trust-rec-${tag}`);
    const v = victim();
    plantRecord(root, `r-${tag}`, v.pid, v.startTime);
    chmodSync(join(root, `r-${tag}`), 0o777);
    expect(oneLine(await nexcage(root, ["state", `r-${tag}`]))).toMatch(/^state of container r-\w+ is not trusted: its directory is writable by its group and others/);
    const l = await nexcage(root, ["list", "-f", "json"]);
    expect(l.code, l.stderr).toBe(0);
    expect(JSON.parse(l.stdout)).toEqual([]);
    expect((await nexcage(root, ["kill", `r-${tag}`, "KILL"])).code).not.toBe(0);
    expect(v.alive()).toBe(true);
    expect((await nexcage(root, ["delete", "--force", `r-${tag}`])).code).toBe(0);
    expect(rootEntries(root)).toEqual([]);
    expect(v.alive()).toBe(true);
  });
});

describe("a record never makes nexcage signal a host process", () => {
  it("a record naming a host process (right start time) or pid 1: kill refuses, the process lives", async () => {
    const root = tempDir(`trust-kill-${tag}`);
    const v = victim();
    plantRecord(root, `v-${tag}`, v.pid, v.startTime);
    plantRecord(root, `p1-${tag}`, 1, readProcStat(1)!.startTime);
    expect(JSON.parse((await nexcage(root, ["state", `v-${tag}`])).stdout).status).toBe("running");
    for (const sig of ["KILL", "TERM"]) {
      expect(oneLine(await nexcage(root, ["kill", `v-${tag}`, sig]))).toBe(`refusing to send SIG${sig}: process ${v.pid} is neither in a pid namespace nor in a cgroup of container v-${tag}`);
    }
    expect(oneLine(await nexcage(root, ["kill", `p1-${tag}`, "KILL"]))).toBe("refusing to send SIGKILL: process 1 is not a container's");
    expect(v.alive()).toBe(true);
    for (const id of [`v-${tag}`, `p1-${tag}`]) expect((await nexcage(root, ["delete", "--force", id])).code).toBe(0);
    expect(v.alive()).toBe(true);
    expect(rootEntries(root)).toEqual([]);
  });

  it("a real container is still signalled (its init is in its own pid namespace)", async () => {
    const root = tempDir(`trust-real-${tag}`);
    const config = configFile(CLI_CONFIG);
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `real-${tag}`);
    expect((await nexcage(root, ["run", "-d", "-b", bundle, id], { config })).code).toBe(0);
    expect(statSync(join(root, id, "crun.log")).mode & 0o777).toBe(0o600);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    const k = await nexcage(root, ["kill", id, "KILL"], { config });
    expect(k.code, k.stderr).toBe(0);
    const stopped = async () => JSON.parse((await nexcage(root, ["state", id])).stdout).status === "stopped";
    for (let i = 0; i < 100 && !(await stopped()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await stopped()).toBe(true);
    expect((await nexcage(root, ["delete", id], { config })).code).toBe(0);
  });
});

describe("every path nexcage reads is a bounded regular file", () => {
  const kinds = (dir: string): Array<[string, string]> => {
    const fifo = join(dir, "fifo");
    mkfifoSync(fifo);
    const loop = join(dir, "loop");
    symlinkSync(loop, loop);
    const huge = join(dir, "huge");
    writeFileSync(huge, `{"a": "${"x".repeat(5 * 1024 * 1024)}"}`);
    mkdirSync(join(dir, "dir"));
    return [
      ["a directory", join(dir, "dir")],
      ["a fifo", fifo],
      ["/dev/zero", "/dev/zero"],
      ["a symlink loop", loop],
      ["a 5 MiB file", huge],
    ];
  };

  it("--config: a directory, a fifo, /dev/zero, a symlink loop, a huge file: one line each, no hang", async () => {
    const dir = tempDir(`trust-kinds-${tag}`);
    const root = tempDir(`trust-kroot-${tag}`);
    const expected: Record<string, string> = {
      "a directory": "is a directory",
      "a fifo": "is a fifo, not a regular file",
      "/dev/zero": "is a character device, not a regular file",
      "a symlink loop": "too many levels of symbolic links",
      "a 5 MiB file": "is larger than 1 MiB",
    };
    for (const [kind, path] of kinds(dir)) {
      const r = await nexcage(root, ["health"], { config: path, timeoutMs: 20_000 });
      expect(oneLine(r), kind).toBe(`cannot read config ${path}: ${expected[kind]}`);
    }
  });

  it("a bundle's config.json as each of them: one line, nothing made", async () => {
    const dir = tempDir(`trust-bkinds-${tag}`);
    const root = tempDir(`trust-broot-${tag}`);
    const config = configFile(CLI_CONFIG);
    for (const [kind, path] of kinds(dir)) {
      const bundle = cleanup.dir(makeBundle(["true"]));
      spawnSync("rm", ["-f", join(bundle, "config.json")]);
      symlinkSync(path, join(bundle, "config.json"));
      const r = await nexcage(root, ["create", "-b", bundle, `k-${tag}`], { config, timeoutMs: 20_000 });
      expect(oneLine(r), kind).toMatch(/^bundle .*: config\.json: (is a directory|is a fifo, not a regular file|is a character device, not a regular file|too many levels of symbolic links|is larger than 4 MiB)$/);
    }
    expect(rootEntries(root)).toEqual([]);
  });
});

describe("one unreadable record does not break the others", () => {
  it("state.json as a directory, a symlink loop, a fifo: list warns and lists the rest; delete --force removes each", async () => {
    const root = tempDir(`trust-list-${tag}`);
    const config = configFile(CLI_CONFIG);
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const good = cleanup.nexcage(root, `good-${tag}`);
    expect((await nexcage(root, ["create", "-b", bundle, good], { config })).code).toBe(0);
    const bad = { dir: `sdir-${tag}`, loop: `sloop-${tag}`, fifo: `sfifo-${tag}` };
    mkdirSync(join(root, bad.dir, "state.json"), { recursive: true, mode: 0o700 });
    mkdirSync(join(root, bad.loop), { mode: 0o700 });
    symlinkSync("state.json", join(root, bad.loop, "state.json"));
    mkdirSync(join(root, bad.fifo), { mode: 0o700 });
    mkfifoSync(join(root, bad.fifo, "state.json"));
    const l = await nexcage(root, ["list", "-f", "json"], { timeoutMs: 20_000 });
    expect(l.code, l.stderr).toBe(0);
    expect((JSON.parse(l.stdout) as Array<{ id: string }>).map((c) => c.id)).toEqual([good]);
    for (const id of Object.values(bad)) {
      expect(oneLine(await nexcage(root, ["state", id], { timeoutMs: 20_000 }))).toMatch(new RegExp(`^state of container ${id} is unreadable: state\\.json (is a directory|is a symbolic link \\(or a symlink loop\\)|is a fifo, not a regular file) \\(use delete --force to remove it\\)$`));
      const d = await nexcage(root, ["delete", "--force", id], { config });
      expect(d.code, d.stderr).toBe(0);
    }
    expect((await nexcage(root, ["delete", "--force", good], { config })).code).toBe(0);
    expect(rootEntries(root)).toEqual([]);
  });

  it("a record whose ref lacks its crun root: delete --force removes it", async () => {
    const root = tempDir(`trust-ref-${tag}`);
    const v = victim();
    plantRecord(root, `noref-${tag}`, v.pid, "0", {});
    const d = await nexcage(root, ["delete", "--force", `noref-${tag}`], { config: configFile(CLI_CONFIG) });
    expect(d.code, d.stderr).toBe(0);
    expect(rootEntries(root)).toEqual([]);
    expect(v.alive()).toBe(true);
  });
});

describe("errors that were internal errors", () => {
  it("--root on a symlink loop: one line", async () => {
    const dir = tempDir(`trust-rloop-${tag}`);
    const loop = join(dir, "loop");
    symlinkSync(loop, loop);
    for (const args of [["list"], ["state", "x"], ["delete", "--force", "x"]]) {
      expect(oneLine(await nexcage(loop, args))).toMatch(/too many levels of symbolic links|is a symbolic link/);
    }
  });

  it("list as an unprivileged user: one line", async () => {
    const root = tempDir(`trust-nobody-${tag}`);
    mkdirSync(join(root, "x"), { mode: 0o700 });
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ...CLI, "--root", root, "list"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`nexcage: cannot read root ${root}: permission denied\n`);
  });

  it("a closed stdout (`nexcage list | head -0`) ends the call quietly, killed by SIGPIPE as runc is", async () => {
    const root = tempDir(`trust-pipe-${tag}`);
    const runcRoot = tempDir(`trust-piperunc-${tag}`);
    // stdout is a fifo whose only reader is closed before the child starts (closing a pipe's read
    // end after spawn raced the child's first write under load)
    const fifo = join(root, "..", `closed-stdout-${tag}`);
    spawnSync("mkfifo", [fifo]);
    const closedStdout = (cmd: string, args: string[]) =>
      new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
        const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
        const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        closeSync(reader);
        const child = spawn(cmd, args, { stdio: ["ignore", writer, "pipe"] });
        closeSync(writer);
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += d));
        child.on("close", (code, signal) => resolve({ code, signal, stderr }));
      });
    const runc = await closedStdout("runc", ["--root", runcRoot, "list"]);
    const ours = await closedStdout(CLI[0], [...CLI.slice(1), "--root", root, "list"]);
    expect(runc).toEqual({ code: null, signal: "SIGPIPE", stderr: "" });
    expect(ours).toEqual(runc);
    rmSync(fifo, { force: true });
  });
});
