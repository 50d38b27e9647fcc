import { existsSync, mkdirSync, statSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CONFIG_CACHE_FILE, cachedConfig, entryStamp, rootConfigMemo, type ConfigMemo } from "../../src/config/cache.js";
import { loadConfig } from "../../src/config/load.js";
import { validateContainerId } from "../../src/oci/id.js";

const EXAMPLE = readFileSync(join(import.meta.dirname, "..", "..", "config.example.json"), "utf8");
const PROXMOX = JSON.stringify({
  defaultBackend: "proxmox-lxc",
  backends: { "proxmox-lxc": { storage: "local-lvm", vmidRange: { min: 2000, max: 2999 } }, "proxmox-vm": { memoryMiB: 1024, tags: ["a"] } },
  lockTimeoutSeconds: 5,
});

let root: string;
let file: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "nexcage-cfgcache-"));
  file = join(root, "nexcage.json");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Counts the validations that really ran (a miss) versus answers from the memo (a hit). */
function counting(memo: ConfigMemo): ConfigMemo & { hits: number; puts: number } {
  const m = {
    hits: 0,
    puts: 0,
    get: (s: string, t: string | undefined) => {
      const c = memo.get(s, t);
      if (c) m.hits++;
      return c;
    },
    put: (s: string, t: string | undefined, c: Parameters<ConfigMemo["put"]>[2]) => {
      m.puts++;
      memo.put(s, t, c);
    },
  };
  return m;
}

describe("the validated config kept in the root", () => {
  it("its file name can never be a container id", () => {
    expect(() => validateContainerId(CONFIG_CACHE_FILE)).toThrow(/invalid container ID/);
  });

  it.each([
    ["config.example.json", EXAMPLE],
    ["a Proxmox config", PROXMOX],
    ["an empty object", "{}"],
  ])("%s: the second call answers from the memo with what validation gives", (_what, text) => {
    writeFileSync(file, text);
    const fresh = loadConfig(file, {});
    const memo = counting(rootConfigMemo(root, "b1"));
    const first = loadConfig(file, {}, memo);
    const second = loadConfig(file, {}, memo);
    expect(memo).toMatchObject({ hits: 1, puts: 1 });
    expect(first).toEqual(fresh);
    expect(second).toEqual(fresh);
  });

  it("the built-in defaults (no file) are kept too", () => {
    const memo = counting(rootConfigMemo(root, "b1"));
    const env = { NEXCAGE_CONFIG: "" };
    const a = loadConfig(undefined, env, memo);
    const b = loadConfig(undefined, env, memo);
    if (a.source !== "built-in defaults") return expect(existsSync("/etc/nexcage/config.json")).toBe(true);
    expect(memo.hits).toBe(1);
    expect(b).toEqual(a);
  });

  it("a file changed to another text of the same size is validated again, and its error reported", () => {
    writeFileSync(file, '{"defaultBackend":"runc"}');
    const memo = counting(rootConfigMemo(root, "b1"));
    expect(loadConfig(file, {}, memo).config.defaultBackend).toBe("runc");
    writeFileSync(file, '{"defaultBackend":"xxxx"}');
    expect(() => loadConfig(file, {}, memo)).toThrow(/invalid config .*defaultBackend/);
    writeFileSync(file, '{"defaultBackend":"crun"}');
    expect(loadConfig(file, {}, memo).config.defaultBackend).toBe("crun");
    expect(memo.hits).toBe(0);
  });

  it("an invalid config is never kept: every call reports it", () => {
    writeFileSync(file, '{"lockTimeoutSeconds":-1}');
    const memo = counting(rootConfigMemo(root, "b1"));
    expect(() => loadConfig(file, {}, memo)).toThrow(/lockTimeoutSeconds/);
    expect(() => loadConfig(file, {}, memo)).toThrow(/lockTimeoutSeconds/);
    expect(memo.puts).toBe(0);
    expect(existsSync(join(root, CONFIG_CACHE_FILE))).toBe(false);
  });

  it("another build, or another file with the same text, does not reuse the entry", () => {
    writeFileSync(file, EXAMPLE);
    const other = join(root, "other.json");
    writeFileSync(other, EXAMPLE);
    loadConfig(file, {}, rootConfigMemo(root, "b1"));
    const b2 = counting(rootConfigMemo(root, "b2"));
    loadConfig(file, {}, b2);
    expect(b2.hits).toBe(0);
    const again = counting(rootConfigMemo(root, "b2"));
    loadConfig(other, {}, again);
    expect(again.hits).toBe(0);
  });

  it("a corrupt or foreign cache file is a miss and is replaced", () => {
    writeFileSync(file, EXAMPLE);
    for (const junk of ["", "not json", "[]", '{"build":"b1"}', JSON.stringify({ build: "b1", source: file, text: EXAMPLE, config: [] })]) {
      writeFileSync(join(root, CONFIG_CACHE_FILE), junk);
      const memo = counting(rootConfigMemo(root, "b1"));
      expect(loadConfig(file, {}, memo)).toEqual(loadConfig(file, {}));
      expect(memo).toMatchObject({ hits: 0, puts: 1 });
      expect(loadConfig(file, {}, memo).config.routing).toHaveLength(3);
      expect(memo.hits).toBe(1);
    }
  });

  it("a root that does not exist or cannot be written only misses; no temp file is left", () => {
    writeFileSync(file, EXAMPLE);
    const missing = counting(rootConfigMemo(join(root, "nope"), "b1"));
    expect(loadConfig(file, {}, missing).config.defaultBackend).toBe("crun");
    expect(existsSync(join(root, "nope"))).toBe(false);
    // a root that is a file: nothing can be written under it
    const notDir = join(root, "not-a-dir");
    writeFileSync(notDir, "a file, not a directory");
    expect(loadConfig(file, {}, rootConfigMemo(notDir, "b1")).config.defaultBackend).toBe("crun");
    // the cache name taken by a directory: the rename fails, the temp file is removed
    const dirRoot = join(root, "dir-root");
    mkdirSync(join(dirRoot, CONFIG_CACHE_FILE, "x"), { recursive: true });
    expect(loadConfig(file, {}, rootConfigMemo(dirRoot, "b1")).config.defaultBackend).toBe("crun");
    expect(readdirSync(dirRoot)).toEqual([CONFIG_CACHE_FILE]);
    expect(readdirSync(root).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("the cache file is private to root (0600)", () => {
    writeFileSync(file, EXAMPLE);
    loadConfig(file, {}, rootConfigMemo(root, "b1"));
    expect(statSync(join(root, CONFIG_CACHE_FILE)).mode & 0o777).toBe(0o600);
  });

  it("cachedConfig is pure: build, source and exact text must all match, and the stamp what they hold", () => {
    const entry = { build: "b", source: "/f", text: "{}", config: { a: 1 }, stamp: entryStamp("b", "/f", "{}", { a: 1 }) };
    expect(cachedConfig(entry, "b", "/f", "{}")).toEqual({ a: 1 });
    expect(cachedConfig(entry, "c", "/f", "{}")).toBeUndefined();
    expect(cachedConfig(entry, "b", "/g", "{}")).toBeUndefined();
    expect(cachedConfig(entry, "b", "/f", "{} ")).toBeUndefined();
    const none = { ...entry, text: null, stamp: entryStamp("b", "/f", null, { a: 1 }) };
    expect(cachedConfig(none, "b", "/f", undefined)).toEqual({ a: 1 });
    expect(cachedConfig(none, "b", "/f", "")).toBeUndefined();
    expect(cachedConfig(null, "b", "/f", "{}")).toBeUndefined();
    // an entry changed after it was written: a miss, whichever part changed
    expect(cachedConfig({ ...entry, config: { a: 2 } }, "b", "/f", "{}")).toBeUndefined();
    expect(cachedConfig({ ...entry, stamp: undefined }, "b", "/f", "{}")).toBeUndefined();
    expect(cachedConfig({ ...entry, stamp: entry.stamp.toUpperCase() }, "b", "/f", "{}")).toBeUndefined();
    expect(cachedConfig({ ...entry, text: "{ }" }, "b", "/f", "{ }")).toBeUndefined();
  });

  it.each([
    ["routing 5", { routing: 5 }],
    ["an unknown backend", { defaultBackend: "nope" }],
    ['lockTimeoutSeconds "abc"', { lockTimeoutSeconds: "abc" }],
    ["a relative runtime path", { backends: { crun: { path: "crun" } } }],
  ])("an entry whose config was edited after it was written (%s) is a miss: the file decides", (_what, bad) => {
    writeFileSync(file, EXAMPLE);
    loadConfig(file, {}, rootConfigMemo(root, "b1"));
    const cache = join(root, CONFIG_CACHE_FILE);
    const entry = JSON.parse(readFileSync(cache, "utf8")) as { config: object };
    writeFileSync(cache, JSON.stringify({ ...entry, config: { ...entry.config, ...bad } }), { mode: 0o600 });
    const memo = counting(rootConfigMemo(root, "b1"));
    expect(loadConfig(file, {}, memo)).toEqual(loadConfig(file, {}));
    expect(memo).toMatchObject({ hits: 0, puts: 1 });
  });
});
