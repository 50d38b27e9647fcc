import { describe, expect, it } from "vitest";
import { run } from "../../src/exec/run.js";

describe("run", () => {
  it("captures stdout and stderr and the exit code", async () => {
    const r = await run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toMatchObject({ exitCode: 3, stdout: "out", stderr: "err", timedOut: false });
  });

  it("passes arguments literally, never through a shell", async () => {
    const r = await run("/bin/echo", ["a;b", "$(id)", "`x`", "*"]);
    expect(r.stdout).toBe("a;b $(id) `x` *");
  });

  it("kills a child that outlives its timeout", async () => {
    const t0 = Date.now();
    const r = await run("/bin/sleep", ["30"], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it("reports a program that cannot start", async () => {
    const r = await run("/nonexistent/tool", []);
    expect(r.exitCode).toBeUndefined();
    expect(r.spawnError?.code).toBe("ENOENT");
  });

  it("runs in the given directory with the given environment", async () => {
    const r = await run("/bin/sh", ["-c", "pwd; echo $NEXCAGE_T"], { cwd: "/tmp", env: { NEXCAGE_T: "v", PATH: "/bin:/usr/bin" } });
    expect(r.stdout).toBe("/tmp\nv");
  });

  it("output stderr: the child's stdout goes to our stderr (not captured), its stderr is captured", async () => {
    // our stderr is redirected to a file by a child node, so what reached it can be read back
    const script = `import("${new URL("../../src/exec/run.ts", import.meta.url).pathname}").then(async (m) => { const r = await m.run("/bin/sh", ["-c", "echo progress; echo failure >&2; exit 3"], { output: "stderr" }); process.stdout.write(JSON.stringify(r)); });`;
    const r = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeoutMs: 30_000 });
    expect(r.stderr).toBe("progress");
    expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 3, stdout: "", stderr: "failure" });
  });
});
