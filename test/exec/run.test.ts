import { execFileSync, spawn, type StdioOptions } from "node:child_process";
import { existsSync, openSync, closeSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run, type RunResult } from "../../src/exec/run.js";

const FIXTURE = join(import.meta.dirname, "run-fixture.ts");
const BUN = join(import.meta.dirname, "..", "..", "node_modules", "@oven", "bun-linux-x64-baseline", "bin", "bun");
const dir = mkdtempSync(join(tmpdir(), "nexcage-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The same cases under both runtimes: node (node:child_process: the tests, dist/nexcage.mjs) and
 * Bun (Bun.spawn: the shipped single binary). Each call runs in a child runtime process, so the
 * runtime's own descriptors and stderr are those of that process.
 */
const RUNTIMES: ReadonlyArray<[string, string[]]> = [
  ["node", [process.execPath, "--import", "tsx", FIXTURE]],
  ["bun", [BUN, FIXTURE]],
];

async function runIn(runtime: string[], file: string, args: string[], opts: Record<string, unknown> = {}, extraFds?: number[]): Promise<RunResult & { ourStderr: string }> {
  const [program, ...pre] = runtime;
  const stdio: StdioOptions = ["ignore", "pipe", "pipe", ...(extraFds ?? [])];
  const child = spawn(program!, [...pre, JSON.stringify({ file, args, opts })], { stdio });
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => (out += b));
  child.stderr!.on("data", (b: Buffer) => (err += b));
  const code = await new Promise<number | null>((r) => child.once("close", r));
  if (code !== 0) throw new Error(`fixture exited ${code}: ${err}`);
  return { ...(JSON.parse(out) as RunResult), ourStderr: err };
}

it("the Bun runtime the binary is built with is installed", () => {
  expect(existsSync(BUN)).toBe(true);
});

describe.each(RUNTIMES)("run under %s", (_name, runtime) => {
  it("captures stdout and stderr and the exit code", async () => {
    const r = await runIn(runtime, "/bin/sh", ["-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toMatchObject({ exitCode: 3, stdout: "out", stderr: "err", timedOut: false });
    expect(r.signal).toBeUndefined();
  });

  it("passes arguments literally, never through a shell", async () => {
    const r = await runIn(runtime, "/bin/echo", ["a;b", "$(id)", "`x`", "*"]);
    expect(r.stdout).toBe("a;b $(id) `x` *");
  });

  it("kills a child that outlives its timeout", async () => {
    const t0 = Date.now();
    const r = await runIn(runtime, "/bin/sleep", ["30"], { timeoutMs: 200 });
    expect(r).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    expect(r.exitCode).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it("reports the signal that killed the child", async () => {
    const r = await runIn(runtime, "/bin/sh", ["-c", "kill -TERM $$"]);
    expect(r).toMatchObject({ signal: "SIGTERM", timedOut: false });
    expect(r.exitCode).toBeUndefined();
  });

  it.each([
    ["a missing file", "ENOENT"],
    ["a file without execute permission", "EACCES"],
  ])("reports a program that cannot start (%s: %s)", async (what, code) => {
    const file = join(dir, code === "ENOENT" ? "missing" : "not-executable");
    if (code === "EACCES") writeFileSync(file, "#!/bin/sh\n", { mode: 0o644 });
    const r = await runIn(runtime, file, []);
    expect(r.exitCode).toBeUndefined();
    expect(r.spawnError?.code).toBe(code);
  });

  it("runs in the given directory with the given environment", async () => {
    const r = await runIn(runtime, "/bin/sh", ["-c", "pwd; echo $NEXCAGE_T"], { cwd: "/tmp", env: { NEXCAGE_T: "v", PATH: "/bin:/usr/bin" } });
    expect(r.stdout).toBe("/tmp\nv");
  });

  it("output stderr: the child's stdout goes to our stderr (not captured), its stderr is captured", async () => {
    const r = await runIn(runtime, "/bin/sh", ["-c", "echo progress; echo failure >&2; exit 3"], { output: "stderr" });
    expect(r.ourStderr).toBe("progress\n");
    expect(r).toMatchObject({ exitCode: 3, stdout: "", stderr: "failure" });
  });

  it("output inherit: the child writes to our own stdout and nothing is captured", async () => {
    // our stdout is the fixture's JSON pipe: the child's line lands in front of the JSON
    const [program, ...pre] = runtime;
    const out = execFileSync(program!, [...pre, JSON.stringify({ file: "/bin/echo", args: ["hello"], opts: { output: "inherit" } })], { encoding: "utf8" });
    expect(out.startsWith("hello\n")).toBe(true);
    expect(JSON.parse(out.slice("hello\n".length))).toMatchObject({ exitCode: 0, stdout: "", stderr: "" });
  });

  it("extraFds passes descriptors 3.. through under the same numbers (--preserve-fds)", async () => {
    const a = join(dir, "fd3");
    const b = join(dir, "fd4");
    writeFileSync(a, "three\n");
    writeFileSync(b, "four\n");
    const fa = openSync(a, "r");
    const fb = openSync(b, "r");
    try {
      const r = await runIn(runtime, "/bin/sh", ["-c", "cat <&3; cat <&4; ls /proc/self/fd"], { extraFds: 2 }, [fa, fb]);
      expect(r.stdout.split("\n").slice(0, 2)).toEqual(["three", "four"]);
      // 0-4 and the one ls opens for itself (5); under tsx, node's children also get tsx's own pipe (fd 251)
      const fds = r.stdout.split("\n").slice(2).map(Number).sort((x, y) => x - y);
      expect(fds.filter((fd) => fd < 100)).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      closeSync(fa);
      closeSync(fb);
    }
  });
});

it("run in this process (node) returns the same shape", async () => {
  const r = await run("/bin/sh", ["-c", "echo x; exit 2"]);
  expect(r).toEqual({ exitCode: 2, signal: undefined, stdout: "x", stderr: "", timedOut: false });
});
