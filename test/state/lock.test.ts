import { execa } from "execa";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { acquireLock, lockPath } from "../../src/state/lock.js";
import { isLocked } from "../fixtures/lock-probe.js";

const holderSource = join(import.meta.dirname, "..", "fixtures", "lock-holder.ts");
const holder = join(mkdtempSync(join(tmpdir(), "nexcage-lock-bin-")), "lock-holder.mjs");
// the bundled holder finds koffi (required at run time, not bundled) through NODE_PATH
const env = { NODE_EXTRA_CA_CERTS: undefined, NODE_PATH: join(import.meta.dirname, "..", "..", "node_modules") };
const hold = (...args: string[]) => execa(process.execPath, [holder, ...args], { env, reject: false });
// The shipped single binary runs under Bun, where the lock binds through Bun.listen: the same races
// with the holder run by the bun of the devDependency (it runs the TypeScript source directly).
const bun = join(import.meta.dirname, "..", "..", "node_modules", "@oven", "bun-linux-x64-baseline", "bin", "bun");
const holdBun = (...args: string[]) => execa(bun, [holderSource, ...args], { env, reject: false });

beforeAll(async () => {
  await build({ entryPoints: [holderSource], bundle: true, platform: "node", format: "esm", target: "node20", outfile: holder, logLevel: "error" });
  chmodSync(join(holder, ".."), 0o755);
});

function journalOf(path: string) {
  return readFileSync(path, "utf8").trim().split("\n").map((l) => {
    const [what, id, pid, t] = l.split(" ");
    return { what, id, pid, t: Number(t) };
  });
}

describe("per-id lock", () => {
  it("is a file in the root per id, named with a character ids cannot hold", () => {
    expect(lockPath("/run/a", "c1")).toBe("/run/a/c1@lock");
    expect(lockPath("/run/b", "c1")).not.toBe(lockPath("/run/a", "c1"));
    expect(lockPath("/run/a", "c2")).not.toBe(lockPath("/run/a", "c1"));
  });

  it("leaves no file in the root once released, makes a missing root 0700, and follows no planted symlink", async () => {
    const base = mkdtempSync(join(tmpdir(), "nexcage-lock-"));
    const root = join(base, "new", "root");
    const lock = await acquireLock(root, "c1", 1000);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(statSync(lockPath(root, "c1")).mode & 0o777).toBe(0o600);
    await lock.release();
    expect(readdirSync(root)).toEqual([]);
    const target = join(base, "target");
    writeFileSync(target, "");
    symlinkSync(target, lockPath(root, "c2"));
    await expect(acquireLock(root, "c2", 100)).rejects.toThrowError(/^cannot create .*c2@lock: too many levels of symbolic links$/);
  });

  it("refuses a root writable by others or owned by another user", async () => {
    const root = mkdtempSync(join(tmpdir(), "nexcage-lock-"));
    chmodSync(root, 0o777);
    await expect(acquireLock(root, "c1", 100)).rejects.toThrowError(/^refusing root .*: it is writable by its group and others \(mode 0777\)$/);
    chmodSync(root, 0o700);
    chownSync(root, 65534, 65534);
    await expect(acquireLock(root, "c1", 100)).rejects.toThrowError(/^refusing root .*: it is owned by uid 65534, not by root$/);
  });

  it("a second acquire in the same process waits until release, then times out cleanly", async () => {
    const root = mkdtempSync(join(tmpdir(), "nexcage-lock-"));
    const lock = await acquireLock(root, "c1", 1000);
    expect(await isLocked(root, "c1")).toBe(true);
    await expect(acquireLock(root, "c1", 150)).rejects.toThrowError(/container c1 is busy/);
    await lock.release();
    expect(await isLocked(root, "c1")).toBe(false);
    const again = await acquireLock(root, "c1", 1000);
    await again.release();
  });

  it("a holder killed with SIGKILL releases the lock at once", async () => {
    const root = mkdtempSync(join(tmpdir(), "nexcage-lock-"));
    const journal = join(root, "journal");
    const child = hold(root, "k", "60000", journal);
    for (let i = 0; i < 200 && !(await isLocked(root, "k")); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await isLocked(root, "k")).toBe(true);
    child.kill("SIGKILL");
    await child;
    const lock = await acquireLock(root, "k", 100).catch(() => undefined);
    expect(lock).toBeDefined();
    await lock?.release();
  });

  describe.each([
    ["node (node:net)", hold],
    ["Bun (Bun.listen)", holdBun],
  ])("processes under %s", (_, run) => {
    it("two processes racing on one id never hold it together", async () => {
      const root = mkdtempSync(join(tmpdir(), "nexcage-lock-"));
      const journal = join(root, "journal");
      const runs = await Promise.all([1, 2, 3].map(() => run(root, "same", "300", journal)));
      expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0]);
      const j = journalOf(journal);
      expect(j).toHaveLength(6);
      for (let i = 0; i < 6; i += 2) {
        expect(j[i]!.what).toBe("enter");
        expect(j[i + 1]!.what).toBe("leave");
        expect(j[i + 1]!.pid).toBe(j[i]!.pid);
      }
    });

    it("different ids are held in parallel", async () => {
      const root = mkdtempSync(join(tmpdir(), "nexcage-lock-"));
      const journal = join(root, "journal");
      await Promise.all(["a", "b"].map((id) => run(root, id, "1500", journal)));
      expect(journalOf(journal).map((e) => e.what)).toEqual(["enter", "enter", "leave", "leave"]);
    });
  });

  // The abstract socket of the lock before could be bound first by any local user: root's kill,
  // delete, start then waited for the lock timeout and failed "busy".
  describe.each([
    ["node", process.execPath, holder],
    ["Bun", bun, holderSource],
  ])("an unprivileged user (nobody) under %s", (_, runtime, script) => {
    it("can neither hold nor block the lock of a root's container", async () => {
      const root = mkdtempSync(join(tmpdir(), "nexcage-lock-"));
      const journal = join(mkdtempSync(join(tmpdir(), "nexcage-lock-j-")), "journal");
      writeFileSync(journal, "");
      chmodSync(journal, 0o666);
      chmodSync(join(journal, ".."), 0o755);
      mkdirSync(join(root, "x"));
      const r = await execa("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", runtime, script, root, "victim", "5000", journal], { env, reject: false });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/permission denied/);
      expect(readFileSync(journal, "utf8")).toBe("");
      const lock = await acquireLock(root, "victim", 100);
      await lock.release();
    });
  });

  describe("under Bun", () => {
    it("a holder killed with SIGKILL releases the lock at once", async () => {
      const root = mkdtempSync(join(tmpdir(), "nexcage-lock-"));
      const journal = join(root, "journal");
      const child = holdBun(root, "k", "60000", journal);
      for (let i = 0; i < 200 && !existsSync(journal); i++) await new Promise((r) => setTimeout(r, 50));
      child.kill("SIGKILL");
      await child;
      const started = Date.now();
      const next = await holdBun(root, "k", "10", journal);
      expect(next.exitCode).toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000); // the fixture's lock timeout is 30 s
      expect(journalOf(journal).map((e) => e.what)).toEqual(["enter", "enter", "leave"]);
    });
  });
});
