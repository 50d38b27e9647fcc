import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { hostTraces } from "./crash-harness.js";
import { Cleanup, makeBundle, nexcage, nexcageFor, nexcageMessage, tempDir, VARIANTS, waitFor, type Run, rootEntries } from "./helpers.js";

/**
 * Hostile bundles and paths: symlinked bundles and rootfs, `..` and absolute paths in ids and
 * mounts, a state root on another file system, a read-only root, a full disk. Each ends in success
 * or one clear line with a non-zero exit, and nothing is lost or left half-created.
 */
const cleanup = new Cleanup();
const mounts: string[] = [];
afterAll(async () => {
  try {
    await cleanup.run();
  } finally {
    unmountAll();
  }
}, 300_000);

function unmountAll(): void {
  for (const m of mounts.splice(0).reverse()) {
    try {
      execFileSync("umount", ["-l", m]);
    } catch {
      // not mounted (any more)
    }
    rmSync(m, { recursive: true, force: true });
  }
}

const tag = process.pid.toString(36);
const CLI = VARIANTS[0]!;

/** A tmpfs of `size` at a fresh directory, unmounted after the file. */
function tmpfs(size: string, ro = false): string {
  const dir = mkdtempSync(join(tmpdir(), "nexcage-e2e-tmpfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}${ro ? ",ro" : ""}`, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

/** Fills a tmpfs to the last byte with one file; returns a function leaving `free` bytes free. */
function fill(dir: string): (free: number) => void {
  const file = join(dir, ".filler");
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(1 << 16);
  let size = 0;
  try {
    for (;;) size += writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  }
  return (free) => ftruncateSync(fd, Math.max(0, size - free));
}

/**
 * A failure in one line of nexcage's. A create through the crun or runc CLI may show the runtime's
 * own lines before it: the container's stdio (stderr included) is the runtime's (docs/cli.md).
 */
const oneLineError = (r: Run, runtimeLines = false) => {
  expect(r.code, r.stdout).not.toBe(0);
  const lines = r.stderr.trim().split("\n");
  expect(runtimeLines ? lines.filter((l) => l.startsWith("nexcage: ")) : lines, r.stderr).toHaveLength(1);
  expect(lines[lines.length - 1], r.stderr).toMatch(/^nexcage: /);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
};

describe("symlinked bundles and rootfs", () => {
  it("a bundle reached through a symlink runs; its record names the real directory", async () => {
    const root = cleanup.dir(tempDir("sym-root"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const link = join(tempDir("sym"), "bundle-link");
    symlinkSync(bundle, link);
    const id = cleanup.nexcage(root, `sym-${tag}`);
    expect((await nexcage(root, ["run", "-d", "-b", link, id])).code).toBe(0);
    const s = JSON.parse((await nexcage(root, ["state", id])).stdout);
    expect(s).toMatchObject({ status: "running", bundle: realpathSync(bundle) });
    expect((await nexcage(root, ["delete", "--force", id])).code).toBe(0);
    expect(rootEntries(root)).toEqual([]);
  });

  it("a rootfs that is a symlink to a directory runs", async () => {
    const root = cleanup.dir(tempDir("sym-root"));
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"], (s) => (s["root"].path = "rootfs-link")));
    symlinkSync("rootfs", join(bundle, "rootfs-link"));
    const id = cleanup.nexcage(root, `symr-${tag}`);
    const r = await nexcage(root, ["run", "-d", "-b", bundle, id]);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse((await nexcage(root, ["state", id])).stdout).status).toBe("running");
    expect((await nexcage(root, ["delete", "--force", id])).code).toBe(0);
  });

  it.each([
    ["a dangling bundle symlink", (d: string) => (symlinkSync(join(d, "nowhere"), join(d, "b")), join(d, "b")), /^bundle \S+: no such file or directory$/],
    ["a bundle symlink loop", (d: string) => (symlinkSync(join(d, "b2"), join(d, "b1")), symlinkSync(join(d, "b1"), join(d, "b2")), join(d, "b1")), /^bundle \S+: too many levels of symbolic links$/],
    ["a bundle symlink to a file", (d: string) => (writeFileSync(join(d, "f"), ""), symlinkSync(join(d, "f"), join(d, "b")), join(d, "b")), /^bundle \S+: not a directory$/],
    [
      "a dangling rootfs symlink",
      () => {
        const b = makeBundle(["true"], (s) => (s["root"].path = "rootfs-link"));
        symlinkSync("gone", join(b, "rootfs-link"));
        return b;
      },
      /^bundle \S+: rootfs \S+: no such file or directory$/,
    ],
    [
      "a rootfs symlink loop",
      () => {
        const b = makeBundle(["true"], (s) => (s["root"].path = "loop"));
        symlinkSync("loop", join(b, "loop"));
        return b;
      },
      /^bundle \S+: rootfs \S+: too many levels of symbolic links$/,
    ],
  ])("%s: one line, nothing created", async (_name, make, message) => {
    const root = join(cleanup.dir(tempDir("sym-bad")), "root");
    const bundle = make(cleanup.dir(tempDir("sym-b")));
    const r = await nexcage(root, ["create", "-b", bundle, `symbad-${tag}`]);
    oneLineError(r);
    expect(nexcageMessage(r.stderr)).toMatch(message);
    expect(existsSync(root)).toBe(false);
  });
});

describe("ids and mounts that try to leave their place", () => {
  it.each(["../escape", "../../etc", "/etc/passwd", "a/b", "..", ".", "a/../b", "x\ny", "é"])("id %j is refused before anything is made", async (id) => {
    const base = cleanup.dir(tempDir("ids"));
    const root = join(base, "root");
    const bundle = cleanup.dir(makeBundle(["true"]));
    for (const args of [["create", "-b", bundle, id], ["run", "-d", "-b", bundle, id], ["delete", "--force", id], ["state", id], ["kill", id, "KILL"]]) {
      const r = await nexcage(root, args);
      oneLineError(r);
      expect(nexcageMessage(r.stderr)).toMatch(/^invalid container ID format: /);
    }
    expect(readdirSync(base)).toEqual([]);
    expect(readdirSync(bundle).sort()).toEqual(["config.json", "rootfs"]);
  });

  describe.each(VARIANTS)("mount destinations through $name", (variant) => {
    it("'..' and a symlink to a host directory in mount destinations stay inside the rootfs", async () => {
      const host = cleanup.dir(tempDir("host-target"));
      const root = cleanup.dir(tempDir("mnt-root"));
      const escape = `/../../../../../../..${host}/dotdot`;
      const bundle = cleanup.dir(
        makeBundle(["sleep", "1000"], (s) => {
          s["mounts"].push({ destination: escape, type: "tmpfs", source: "tmpfs", options: ["nosuid"] });
          s["mounts"].push({ destination: "/evil/through-link", type: "tmpfs", source: "tmpfs", options: ["nosuid"] });
        }),
      );
      symlinkSync(host, join(bundle, "rootfs", "evil"));
      const id = cleanup.nexcage(root, `mnt-${tag}-${variant.backend}${variant.node ? "l" : ""}`);
      const n = nexcageFor(variant, root);
      const r = await n(["run", "-d", "-b", bundle, id]);
      expect(r, r.stderr).toMatchObject({ code: 0 });
      {
        const pid = JSON.parse((await n(["state", id])).stdout).pid as number;
        // inside the container: the mounts landed under its own root
        const inside = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
        expect(inside).toContain(` ${host}/dotdot `);
        expect(inside).toContain(` ${host}/through-link `);
      }
      // on the host: nothing appeared in the target, nothing is mounted there
      expect(readdirSync(host)).toEqual([]);
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(host);
      expect((await n(["delete", "--force", id])).code).toBe(0);
      expect(rootEntries(root)).toEqual([]);
    });
  });
});

describe("the state root's file system", () => {
  it("a root on another file system (tmpfs) than the bundle: the whole lifecycle works", async () => {
    const root = join(tmpfs("4m"), "state");
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const id = cleanup.nexcage(root, `xfs-${tag}`);
    for (const variant of VARIANTS) {
      const n = nexcageFor(variant, root);
      expect((await n(["create", "-b", bundle, id])).code).toBe(0);
      expect((await n(["start", id])).code).toBe(0);
      expect(JSON.parse((await n(["state", id])).stdout).status).toBe("running");
      expect((await n(["kill", id, "KILL"])).code).toBe(0);
      expect(await waitFor(async () => JSON.parse((await n(["state", id])).stdout).status === "stopped")).toBe(true);
      expect((await n(["delete", id])).code).toBe(0);
      expect(rootEntries(root)).toEqual([]);
    }
  });

  it("a read-only root: create fails in one line; an existing container stays readable and is deleted once the root is writable again", async () => {
    const mnt = tmpfs("4m");
    const root = join(mnt, "state");
    const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
    const n = nexcageFor(CLI, root);
    const id = cleanup.nexcage(root, `ro-${tag}`);
    expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
    const before = readFileSync(join(root, id, "state.json"), "utf8");
    execFileSync("mount", ["-o", "remount,ro", mnt]);
    try {
      const c = await n(["create", "-b", bundle, `ro2-${tag}`]);
      oneLineError(c);
      // the id's lock file is the first thing a create makes in the root
      expect(nexcageMessage(c.stderr)).toBe(`cannot create ${join(root, `ro2-${tag}@lock`)}: read-only file system`);
      expect(JSON.parse((await n(["state", id])).stdout).status).toBe("running");
      const listed = JSON.parse((await n(["list", "-f", "json"])).stdout) as Array<{ id: string }>;
      expect(listed.map((e) => e.id)).toEqual([id]);
      for (const args of [["delete", "--force", id], ["pause", id]]) {
        const r = await n(args);
        oneLineError(r);
      }
      expect(readFileSync(join(root, id, "state.json"), "utf8")).toBe(before);
    } finally {
      execFileSync("mount", ["-o", "remount,rw", mnt]);
    }
    expect(JSON.parse((await n(["state", id])).stdout).status).toBe("running");
    expect((await n(["delete", "--force", id])).code).toBe(0);
    expect(rootEntries(root)).toEqual([]);
  });

  describe.each(VARIANTS)("a full root through $name", (variant) => {
    it("with 0 to 40 KiB free, each create either works completely or fails in one line leaving nothing; the root stays usable", async () => {
      const mnt = tmpfs("1m");
      const root = join(mnt, "state");
      mkdirSync(root);
      const bundle = cleanup.dir(makeBundle(["sleep", "1000"]));
      const n = nexcageFor(variant, root);
      const leave = fill(mnt);
      const outcomes: string[] = [];
      for (const kib of [0, 4, 8, 12, 16, 24, 40]) {
        leave(kib * 1024);
        const id = cleanup.nexcage(root, `full-${tag}-${variant.backend}${variant.node ? "l" : ""}-${kib}`);
        const r = await n(["create", "-b", bundle, id]);
        if (r.code === 0) {
          outcomes.push(`${kib}: created`);
          expect(JSON.parse((await n(["state", id])).stdout).status).toBe("created");
          leave(0); // full again: delete must still work
          const d = await n(["delete", "--force", id]);
          expect(d, d.stderr).toMatchObject({ code: 0 });
        } else {
          oneLineError(r, !variant.node);
          outcomes.push(`${kib}: ${nexcageMessage(r.stderr)}`);
          expect(nexcageMessage(r.stderr)).toMatch(/no space left on device/i);
        }
        expect(rootEntries(root), outcomes.join("\n")).toEqual([]);
        expect(hostTraces(id, join(root, id))).toEqual([]);
      }
      // with room again, the same root works
      leave(1 << 30);
      const id = cleanup.nexcage(root, `full-${tag}-ok`);
      expect((await n(["run", "-d", "-b", bundle, id])).code).toBe(0);
      expect((await n(["delete", "--force", id])).code).toBe(0);
      expect(outcomes[0]).not.toBe("0: created");
      console.log(`full root (${variant.name}): ${outcomes.join(" | ")}`);
    });
  });

  it("a bundle on a full tmpfs runs (nothing writes there); a pid file there fails in one line and rolls back", async () => {
    const mnt = tmpfs("8m");
    const src = makeBundle(["sleep", "1000"]);
    const bundle = join(mnt, "bundle");
    execFileSync("cp", ["-a", src, bundle]);
    const leave = fill(mnt);
    leave(0);
    const root = cleanup.dir(tempDir("fullb-root"));
    const n = nexcageFor(CLI, root);
    const id = cleanup.nexcage(root, `fullb-${tag}`);
    const r = await n(["run", "-d", "-b", bundle, id]);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect((await n(["delete", "--force", id])).code).toBe(0);
    const p = await n(["create", "-b", bundle, "--pid-file", join(bundle, "init.pid"), id]);
    oneLineError(p, true);
    expect(nexcageMessage(p.stderr)).toMatch(/pid.*(no space left on device|No space left on device)/i);
    expect(rootEntries(root)).toEqual([]);
    expect(hostTraces(id, join(root, id))).toEqual([]);
    expect(existsSync(join(bundle, "init.pid")) && readFileSync(join(bundle, "init.pid"), "utf8") !== "").toBe(false);
  });
});
