import { describe, expect, it } from "vitest";
import { checkExecutable, pathOf, resolveInRoot, type FileFacts } from "../../../src/backends/proxmox-lxc/executable.js";

/** A rootfs at /r as a table of host paths. */
const FS: Record<string, FileFacts> = {
  "/r/bin": { regular: false, mode: 0o755 },
  "/r/bin/busybox": { regular: true, mode: 0o755 },
  "/r/bin/sh": { symlink: "busybox", regular: false, mode: 0o777 },
  "/r/bin/abs": { symlink: "/bin/busybox", regular: false, mode: 0o777 },
  "/r/bin/up": { symlink: "../../../bin/busybox", regular: false, mode: 0o777 },
  "/r/bin/loop": { symlink: "loop", regular: false, mode: 0o777 },
  "/r/bin/data": { regular: true, mode: 0o644 },
  "/r/usr": { symlink: "/", regular: false, mode: 0o777 },
  "/r/app": { regular: false, mode: 0o755 },
  "/r/app/run": { regular: true, mode: 0o700 },
};
const facts = (p: string) => FS[p];

describe("resolving a path inside a rootfs as a chroot would", () => {
  it.each([
    ["/bin/busybox", "/r/bin/busybox"],
    ["/bin/sh", "/r/bin/busybox"],
    ["/bin/abs", "/r/bin/busybox"],
    ["/bin/up", "/r/bin/busybox"],
    ["/usr/bin/sh", "/r/bin/busybox"],
    ["/../../bin/sh", "/r/bin/busybox"],
  ])("%s → %s", (path, host) => {
    expect(resolveInRoot("/r", path, facts)?.host).toBe(host);
  });

  it.each(["/bin/nope", "/nonexistent", "/bin/loop"])("%s does not resolve", (path) => {
    expect(resolveInRoot("/r", path, facts)).toBeUndefined();
  });
});

describe("the process's executable must exist in the rootfs before create succeeds", () => {
  it.each([
    ["sh", "/", ["PATH=/usr/local/bin:/bin"]],
    ["/bin/sh", "/", []],
    ["sh", "/", []],
    ["./run", "/app", ["PATH=/bin"]],
    ["run", "/", ["PATH=/app"]],
  ])("%s (cwd %s, env %o) is found", (args0, cwd, env) => {
    expect(() => checkExecutable("/r", args0, cwd, env, facts)).not.toThrow();
  });

  it.each([
    ["/nonexistent", "/", [], "executable file `/nonexistent` not found in $PATH: No such file or directory"],
    ["nope", "/", ["PATH=/bin"], "executable file `nope` not found in $PATH: No such file or directory"],
    ["sh", "/", ["PATH=/app"], "executable file `sh` not found in $PATH: No such file or directory"],
    ["/bin", "/", [], "executable file `/bin` not found in $PATH: No such file or directory"],
    ["/bin/data", "/", [], "open executable: Permission denied: `/bin/data`"],
  ])("%s (cwd %s, env %o) is refused: %s", (args0, cwd, env, message) => {
    expect(() => checkExecutable("/r", args0, cwd, env, facts)).toThrow(message);
  });

  it("PATH is the last one in env, else runc's default", () => {
    expect(pathOf(["PATH=/a", "X=1", "PATH=/b"])).toBe("/b");
    expect(pathOf([])).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  });
});
