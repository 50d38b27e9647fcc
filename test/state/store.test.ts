import { mkdtempSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ContainerRecord } from "../../src/state/record.js";
import { CorruptRecordError, Store, storeError } from "../../src/state/store.js";
import { validateContainerId } from "../../src/oci/id.js";

function record(id: string, status: ContainerRecord["status"] = "created"): ContainerRecord {
  return {
    ociVersion: "1.0.2",
    id,
    status,
    pid: 42,
    bundle: "/b",
    rootfs: "/b/rootfs",
    created: "2026-01-01T00:00:00.000Z",
    owner: "root",
    nexcage: { backend: "crun", ref: { root: "/r" }, routeReason: "defaultBackend", configSource: "built-in defaults", pidStartTime: "123" },
  };
}

const valid = (n: string) => {
  try {
    validateContainerId(n);
    return true;
  } catch {
    return false;
  }
};

describe("Store", () => {
  it("writes, reads back, lists and removes records", () => {
    const s = new Store(mkdtempSync(join(tmpdir(), "nexcage-store-")));
    expect(s.read("c1")).toBeUndefined();
    expect(s.makeDir("c1")).toBe(true);
    expect(s.makeDir("c1")).toBe(false);
    s.write(record("c1"));
    expect(s.read("c1")).toEqual(record("c1"));
    s.write(record("c1", "running"));
    expect(s.read("c1")?.status).toBe("running");
    s.makeDir("b2");
    s.write(record("b2"));
    expect(s.ids(valid)).toEqual(["b2", "c1"]);
    s.remove("c1");
    expect(s.read("c1")).toBeUndefined();
    expect(s.ids(valid)).toEqual(["b2"]);
  });

  it("leaves no temp file beside the record", () => {
    const s = new Store(mkdtempSync(join(tmpdir(), "nexcage-store-")));
    s.makeDir("c1");
    for (let i = 0; i < 5; i++) s.write(record("c1"));
    expect(readdirSync(s.dir("c1"))).toEqual(["state.json"]);
  });

  it("reports a truncated or foreign record as corrupt, not as missing", () => {
    const s = new Store(mkdtempSync(join(tmpdir(), "nexcage-store-")));
    s.makeDir("c1");
    writeFileSync(join(s.dir("c1"), "state.json"), '{"ociVersion":"1.0.2","id":"c1"');
    expect(() => s.read("c1")).toThrowError(CorruptRecordError);
    writeFileSync(join(s.dir("c1"), "state.json"), JSON.stringify(record("other")));
    expect(() => s.read("c1")).toThrowError(/corrupt/);
  });

  it("lists only directories whose names are valid ids; a missing root lists nothing", () => {
    const root = mkdtempSync(join(tmpdir(), "nexcage-store-"));
    const s = new Store(root);
    mkdirSync(join(root, "bad id"));
    writeFileSync(join(root, "file"), "");
    s.makeDir("ok");
    expect(s.ids(valid)).toEqual(["ok"]);
    expect(new Store(join(root, "nope")).ids(valid)).toEqual([]);
  });

  it("removes the temp files of writers that crashed before their rename on the next write", () => {
    const s = new Store(mkdtempSync(join(tmpdir(), "nexcage-store-")));
    s.makeDir("c1");
    s.write(record("c1"));
    writeFileSync(join(s.dir("c1"), ".state.json.999999.tmp"), '{"half":');
    writeFileSync(join(s.dir("c1"), "crun.log"), "");
    s.write(record("c1", "running"));
    expect(readdirSync(s.dir("c1")).sort()).toEqual(["crun.log", "state.json"]);
    expect(s.read("c1")?.status).toBe("running");
  });

  it("a write into a missing directory fails with one line and leaves no temp file", () => {
    const root = mkdtempSync(join(tmpdir(), "nexcage-store-"));
    const s = new Store(root);
    expect(() => s.write(record("gone"))).toThrowError(/^cannot write the state of container gone: no such file or directory$/);
    expect(readdirSync(root)).toEqual([]);
  });

  it.each([
    ["ENOSPC", "no space left on device"],
    ["EROFS", "read-only file system"],
    ["EDQUOT", "disk quota exceeded"],
    ["EIO", "input/output error"],
    ["EXDEV", "EXDEV"],
  ])("file-system error %s reads as '%s'", (code, text) => {
    expect(storeError("cannot write x", Object.assign(new Error("raw"), { code })).message).toBe(`cannot write x: ${text}`);
  });
});
