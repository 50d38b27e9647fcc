import { describe, expect, it } from "vitest";
import { trustProblem } from "../../src/state/trust.js";

const DIR = 0o040000;
const FILE = 0o100000;
const LINK = 0o120000;
const FIFO = 0o010000;

describe("trustProblem (who may have written what nexcage trusts)", () => {
  it.each([
    // [uid, mode, kind, euid, problem]
    [0, DIR | 0o700, "directory", 0, undefined],
    [0, DIR | 0o755, "directory", 0, undefined],
    [0, DIR | 0o711, "directory", 0, undefined],
    [0, FILE | 0o600, "file", 0, undefined],
    [0, FILE | 0o644, "file", 0, undefined],
    [1000, DIR | 0o700, "directory", 1000, undefined],
    [0, DIR | 0o700, "directory", 1000, undefined],
    [1000, DIR | 0o700, "directory", 0, "is owned by uid 1000, not by root"],
    [1000, DIR | 0o700, "directory", 1001, "is owned by uid 1000, not by root or uid 1001"],
    [0, DIR | 0o777, "directory", 0, "is writable by its group and others (mode 0777)"],
    [0, DIR | 0o1777, "directory", 0, "is writable by its group and others (mode 1777)"],
    [0, DIR | 0o770, "directory", 0, "is writable by its group (mode 0770)"],
    [0, DIR | 0o702, "directory", 0, "is writable by others (mode 0702)"],
    [0, FILE | 0o666, "file", 0, "is writable by its group and others (mode 0666)"],
    [0, LINK | 0o777, "file", 0, "is a symbolic link, not a file"],
    [0, LINK | 0o777, "directory", 0, "is a symbolic link, not a directory"],
    [0, FILE | 0o600, "directory", 0, "is a regular file, not a directory"],
    [0, DIR | 0o700, "file", 0, "is a directory, not a file"],
    [0, FIFO | 0o600, "file", 0, "is a fifo, not a file"],
  ] as const)("uid %i mode %o as a %s for euid %i: %s", (uid, mode, kind, euid, problem) => {
    expect(trustProblem({ uid, mode }, kind, euid)).toBe(problem);
  });

  it("checks the type first, then the owner, then the mode", () => {
    expect(trustProblem({ uid: 5, mode: LINK | 0o777 }, "directory", 0)).toMatch(/symbolic link/);
    expect(trustProblem({ uid: 5, mode: DIR | 0o777 }, "directory", 0)).toMatch(/owned by uid 5/);
  });
});
