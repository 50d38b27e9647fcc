import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rootConfigMemo, CONFIG_CACHE_FILE } from "../../src/config/cache.js";
import { loadConfig } from "../../src/config/load.js";
import { NexcageError } from "../../src/errors.js";
import { loadBundle } from "../../src/oci/bundle.js";
import { acquireLock } from "../../src/state/lock.js";
import { CorruptRecordError, Store } from "../../src/state/store.js";
import { trustProblem } from "../../src/state/trust.js";
import { isOneLine, params, timeoutFor, withinMs } from "./_fuzz.js";

/**
 * Issue 16's classes: ownership and modes of the root, a record directory and the config cache
 * (each either trusted, exactly when trustProblem says so, or refused in one line), and the file
 * types of every path nexcage reads (--config, a bundle's config.json, state.json, the cache): a
 * directory, a fifo, /dev/zero, a symlink, a symlink loop, a huge file, a regular file with junk.
 * Each read ends (the watchdog turns a hang into a failure) in a result or one line.
 */
const base = mkdtempSync(join(tmpdir(), "nexcage-fuzz-trust-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(base, `c${n++}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
};

const owners = fc.constantFrom(0, 65534, 1000);
const modes = fc.integer({ min: 0, max: 0o7777 });

describe("root, record directory and cache ownership and modes", () => {
  it("a root is used exactly when trustProblem accepts it, else refused in one line", () => {
    fc.assert(
      fc.property(owners, modes, (uid, mode) => {
        const root = fresh();
        chownSync(root, uid, uid);
        chmodSync(root, mode);
        const problem = trustProblem({ uid, mode: 0o040000 | mode }, "directory", 0);
        for (const use of [() => new Store(root), () => rootConfigMemo(root, "b").get("s", "t")]) {
          try {
            use();
            expect(problem).toBeUndefined();
          } catch (e) {
            expect(e).toBeInstanceOf(NexcageError);
            expect(problem).toBeDefined();
            expect((e as Error).message).toBe(`refusing root ${root}: it ${problem}`);
          }
        }
      }),
      params(60),
    );
  });

  it("a record directory or cache file of any owner and mode: read, or refused in one line", async () => {
    await fc.assert(
      fc.asyncProperty(owners, modes, owners, modes, async (dirUid, dirMode, fileUid, fileMode) => {
        const root = fresh();
        const dir = join(root, "c1");
        mkdirSync(dir);
        writeFileSync(join(dir, "state.json"), "{}");
        chownSync(dir, dirUid, dirUid);
        chmodSync(dir, dirMode);
        const dirProblem = trustProblem({ uid: dirUid, mode: 0o040000 | dirMode }, "directory", 0);
        try {
          new Store(root).read("c1");
          expect.unreachable("{} is not a record");
        } catch (e) {
          expect(e).toBeInstanceOf(CorruptRecordError);
          expect((e as Error).message).toMatch(dirProblem ? /is not trusted: its directory / : /is corrupt/);
          expect(isOneLine((e as Error).message)).toBe(true);
        }
        const cache = join(root, CONFIG_CACHE_FILE);
        writeFileSync(cache, "{}");
        chownSync(cache, fileUid, fileUid);
        chmodSync(cache, fileMode);
        const fileProblem = trustProblem({ uid: fileUid, mode: 0o100000 | fileMode }, "file", 0);
        try {
          expect(rootConfigMemo(root, "b").get("s", "t")).toBeUndefined();
          expect(fileProblem).toBeUndefined();
        } catch (e) {
          expect((e as Error).message).toBe(`refusing config cache ${cache}: it ${fileProblem}`);
        }
        const lock = await acquireLock(root, "c1", 100);
        await lock.release();
      }),
      params(40),
    );
  });
});

type Kind = "dir" | "fifo" | "zero" | "symlink" | "loop" | "huge" | "junk" | "empty" | "dangling";
const KINDS: readonly Kind[] = ["dir", "fifo", "zero", "symlink", "loop", "huge", "junk", "empty", "dangling"];

/** Makes `path` a `kind` of file; `junk` is the content of regular ones. */
function make(path: string, kind: Kind, junk: string): void {
  if (kind === "dir") mkdirSync(path);
  else if (kind === "fifo") expect(spawnSync("mkfifo", [path]).status).toBe(0);
  else if (kind === "zero") symlinkSync("/dev/zero", path);
  else if (kind === "symlink") {
    writeFileSync(`${path}.target`, junk);
    symlinkSync(`${path}.target`, path);
  } else if (kind === "loop") symlinkSync(path, path);
  else if (kind === "huge") writeFileSync(path, `{"a":"${"x".repeat(9 * 1024 * 1024)}"}`);
  else if (kind === "dangling") symlinkSync(join(path, "..", "nowhere"), path);
  else writeFileSync(path, kind === "empty" ? "" : junk);
}

const junkText = fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)));

describe("file types of every path nexcage reads", () => {
  it(
    "--config, config.json, state.json and the cache as a dir, fifo, /dev/zero, symlink, loop, huge or junk file: a result or one line, never a hang",
    () => {
      fc.assert(
        fc.property(fc.constantFrom(...KINDS), junkText, (kind, junk) => {
          const dir = fresh();
          // --config
          const cfg = join(dir, "config.json");
          make(cfg, kind, junk);
          try {
            withinMs(5000, `--config as ${kind}`, () => loadConfig(cfg, {}));
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(NexcageError);
            expect(isOneLine((e as Error).message)).toBe(true);
            expect((e as Error).message).toMatch(/^(cannot read config|invalid config) /);
          }
          // a bundle's config.json
          const bundle = join(dir, "bundle");
          mkdirSync(join(bundle, "rootfs"), { recursive: true });
          make(join(bundle, "config.json"), kind, junk);
          try {
            withinMs(5000, `config.json as ${kind}`, () => loadBundle(bundle));
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(NexcageError);
            expect(isOneLine((e as Error).message)).toBe(true);
            expect((e as Error).message).toMatch(/^bundle /);
          }
          // state.json and the cache in a root
          const root = join(dir, "root");
          mkdirSync(join(root, "c1"), { recursive: true, mode: 0o700 });
          make(join(root, "c1", "state.json"), kind, junk);
          make(join(root, CONFIG_CACHE_FILE), kind, junk);
          try {
            withinMs(5000, `state.json as ${kind}`, () => new Store(root).read("c1"));
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(CorruptRecordError);
            expect(isOneLine((e as Error).message)).toBe(true);
          }
          // a cache that is not a regular file (or junk) is a miss
          expect(withinMs(5000, `cache as ${kind}`, () => rootConfigMemo(root, "b").get("s", junk))).toBeUndefined();
        }),
        params(60),
      );
    },
    timeoutFor(60, 200),
  );
});
