import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ownerName, passwdName } from "../../src/runtime/owner.js";

const PASSWD = ["root:x:0:0:root:/root:/bin/bash", "# comment:x:5:5", "daemon:x:1:1::/:/usr/sbin/nologin", "dup:x:1:1::/:/bin/sh", "broken", ""].join("\n");

describe("passwdName", () => {
  it.each([
    [0, "root"],
    [1, "daemon"],
    [5, undefined],
    [1000, undefined],
  ])("uid %i -> %s", (uid, name) => expect(passwdName(PASSWD, uid)).toBe(name));
});

describe("ownerName", () => {
  it("reads the passwd file, and falls back to the uid", () => {
    const dir = mkdtempSync(join(tmpdir(), "nexcage-owner-"));
    try {
      writeFileSync(join(dir, "passwd"), PASSWD);
      expect(ownerName(1, join(dir, "passwd"))).toBe("daemon");
      expect(ownerName(4242, join(dir, "passwd"))).toBe("4242");
      expect(ownerName(0, join(dir, "missing"))).toBe("0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
