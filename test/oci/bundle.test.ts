import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../../src/oci/bundle.js";

describe("loadBundle errors: one line, in words", () => {
  const base = mkdtempSync(join(tmpdir(), "nexcage-bundle-"));
  const bundle = (name: string, root: string) => {
    const dir = join(base, name);
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ociVersion: "1.0.2", process: { args: ["true"], cwd: "/" }, root: { path: root } }));
    return dir;
  };
  it.each([
    // found by the long fuzz run (seed 1283398995): a line break in root.path broke the message
    ["a root.path with a line break is quoted", () => bundle("nl", "\n"), (d: string) => `bundle ${d}: rootfs ${JSON.stringify(`${d}/\n`)}: no such file or directory`],
    ["a rootfs symlink loop", () => (symlinkSync("loop", join(bundle("loop", "loop"), "loop")), join(base, "loop")), (d: string) => `bundle ${d}: rootfs ${d}/loop: too many levels of symbolic links`],
    ["a bundle that is a file", () => (writeFileSync(join(base, "f"), ""), join(base, "f")), (d: string) => `bundle ${d}: not a directory`],
  ])("%s", (_name, make, message) => {
    const dir = make();
    expect(() => loadBundle(dir)).toThrowError(message(dir));
  });
});
