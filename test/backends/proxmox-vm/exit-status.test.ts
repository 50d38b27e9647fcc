import { describe, expect, it } from "vitest";
import { exitCodeOf } from "../../../src/backends/proxmox-vm/exit-status.js";

describe("exitCodeOf (the status disk's record → exit code)", () => {
  it.each([
    ["nexcage-exit exited 0\n", 0],
    ["nexcage-exit exited 3\n", 3],
    ["\u0000\u0000\u0010\u0000\u0000\u0000\u0000\u0000nexcage-exit exited 42\n\u0000\u0000", 42],
    ["nexcage-exit killed TERM\n", 143],
    ["nexcage-exit killed KILL\n", 137],
    ["nexcage-exit dumped SEGV\n", 139],
    ["nexcage-exit killed 15\n", 143],
    ["nexcage-exit exited 256\n", undefined],
    ["nexcage-exit killed BOGUS\n", undefined],
    ["nexcage-exit exited 3", undefined], // torn write: no newline
    ["", undefined],
    ["\u0000".repeat(512), undefined],
  ])("%j → %s", (disk, code) => {
    expect(exitCodeOf(disk)).toBe(code);
  });
});
