import { describe, expect, it } from "vitest";
import { firstExisting, nativeDirs, SYSTEM_LIB_DIR } from "../../src/install/layout.js";

describe("nativeDirs: where libcrun.so and koffi.node are looked for", () => {
  it.each([
    ["installed single binary", true, "/usr/bin/nexcage", undefined, [SYSTEM_LIB_DIR, "/usr/bin"]],
    ["single binary in a checkout's dist/", true, "/src/nexcage/dist/nexcage", undefined, [SYSTEM_LIB_DIR, "/src/nexcage/dist"]],
    ["single binary run from the package dir itself", true, "/usr/lib/nexcage/nexcage", undefined, [SYSTEM_LIB_DIR]],
    ["script bundle with a checkout build", false, "/usr/bin/node", "/src/nexcage/build/libcrun", [SYSTEM_LIB_DIR, "/src/nexcage/build/libcrun"]],
    ["script bundle never looks beside node", false, "/usr/bin/node", undefined, [SYSTEM_LIB_DIR]],
  ])("%s", (_, single, execPath, checkout, expected) => {
    expect(nativeDirs(single, execPath, checkout)).toEqual(expected);
  });
});

describe("firstExisting", () => {
  const present = new Set(["/b/x.so", "/c/x.so"]);
  it.each([
    [["/a", "/b", "/c"], "/b/x.so"],
    [["/c", "/b"], "/c/x.so"],
    [["/a"], undefined],
    [[], undefined],
  ])("%j -> %s", (dirs, expected) => {
    expect(firstExisting(dirs, "x.so", (p) => present.has(p))).toBe(expected);
  });
});
