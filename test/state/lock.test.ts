import { execa } from "execa";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { acquireLock, lockName } from "../../src/state/lock.js";
import { isLocked } from "../fixtures/lock-probe.js";

const holderSource = join(import.meta.dirname, "..", "fixtures", "lock-holder.ts");
const holder = join(mkdtempSync(join(tmpdir(), "nexcage-lock-bin-")), "lock-holder.mjs");
const env = { NODE_EXTRA_CA_CERTS: undefined };
const hold = (...args: string[]) => execa(process.execPath, [holder, ...args], { env, reject: false });
// The shipped single binary runs under Bun, where the lock binds through Bun.listen: the same races
// with the holder run by the bun of the devDependency (it runs the TypeScript source directly).
const bun = join(import.meta.dirname, "..", "..", "node_modules", "@oven", "bun-linux-x64-baseline", "bin", "bun");
const holdBun = (...args: string[]) => execa(bun, [holderSource, ...args], { env, reject: false });

beforeAll(async () => {
  await build({ entryPoints: [holderSource], bundle: true, platform: "node", format: "esm", target: "node20", outfile: holder, logLevel: "error" });
});

function journalOf(path: string) {
  return readFileSync(path, "utf8").trim().split("\n").map((l) => {
    const [what, id, pid, t] = l.split(" ");
    return { what, id, pid, t: Number(t) };
  });
}

describe("per-id lock", () => {
  it("names differ per root and per id, and are stable", () => {
    const a1 = lockName("/run/a", "c1");
    expect(lockName("/run/b", "c1")).not.toBe(a1);
    expect(lockName("/run/a", "c2")).not.toBe(a1);
    expect(lockName("/run/a/", "c1")).not.toBe(a1);
    expect(lockName("/run/a", "c1")).toBe(a1);
    expect(a1).toMatch(/^\0nexcage-lock\/[0-9a-f]{32}$/);
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
